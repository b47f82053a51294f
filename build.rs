//! Generates the C header from src/ffi with cbindgen, into OUT_DIR/sockrt.h.
//!
//! The build never touches the committed include/sockrt.h: `make header`
//! copies the generated file over it, and `make check-header` (part of
//! `make test`) fails when the two differ. Nothing here reads the
//! environment, so no build flips this script's inputs and reruns it.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsockrt.so.0");

    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml is readable");
    cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write_to_file(out.join("sockrt.h"));
}
