//! TLS on rustls (with the *ring* crypto provider): configurations
//! ([`config`]), streams over connected sockets ([`stream`]), and the mapping
//! of rustls's errors to the runtime's ([`error`]).
//!
//! A TLS stream uses only the public API of [`crate::socket::Socket`], so it
//! sits above whatever engine the socket runs; the registry and the pool,
//! below it, hold TLS streams as [`crate::stream::Transport`]s and configs
//! opaquely ([`TlsConfig::of`] downcasts one).

pub mod config;
mod error;
pub mod stream;
mod x509;

pub use config::{Side, TlsConfig, TLS_1_2, TLS_1_3};
pub use stream::{PoolTls, TlsInfo, TlsStream};
