//! Tooling around the intake: provider-exact deliveries and API Gateway events, a local
//! Lambda Runtime API for the real binaries, and local AWS setup for the demo and tests.

pub mod event;
pub mod local;
pub mod manifest;
pub mod runtime_api;
pub mod serve;
