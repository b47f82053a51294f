//! Generates include/sockrt.h from src/ffi with cbindgen.
//!
//! The header is committed. A normal build rewrites it only when its content
//! changes. With SOCKRT_HEADER_CHECK=1 the build instead fails if the
//! committed header differs from a fresh generation (used by `make test`).

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let header = dir.join("include/sockrt.h");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=include/sockrt.h");
    println!("cargo:rerun-if-env-changed=SOCKRT_HEADER_CHECK");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsockrt.so.0");

    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml is readable");
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");

    if std::env::var("SOCKRT_HEADER_CHECK").as_deref() == Ok("1") {
        let mut fresh = Vec::new();
        bindings.write(&mut fresh);
        let committed = std::fs::read(&header).unwrap_or_default();
        if fresh != committed {
            panic!(
                "include/sockrt.h is out of date: run `cargo build` and commit the regenerated header"
            );
        }
    } else {
        bindings.write_to_file(&header);
    }
}
