//! HTTP: the client every outgoing request goes through (scrapes, discovery, pushes), and
//! the server every long-running command listens with (`gateway`).
//!
//! ```text
//!   client.rs   ureq with a job's TLS, credentials and limits; Go-worded errors
//!   request.rs  request heads and chunked bodies, parsed incrementally (pure)
//!   server.rs   poll(2) reader + fixed worker pool; limits against hostile clients
//!   webconfig.rs  the web config file: TLS, basic auth (bcrypt), response headers
//! ```

pub mod client;
pub mod request;
pub mod server;
pub mod webconfig;
