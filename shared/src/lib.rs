//! Webhook intake: the one pipeline behind the GitHub, GitHub Enterprise Server and GitLab
//! Lambda functions. A delivery is proven authentic against the secret record its routing
//! key names, then forwarded to SQS as an envelope; nothing else is believed before that.

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod envelope;
pub mod http;
pub mod lambda;
pub mod metrics;
pub mod payload;
pub mod payload_store;
pub mod pipeline;
pub mod provider;
pub mod queue;
pub mod response;
pub mod routing_key;
pub mod secret_cache;
pub mod secret_record;
pub mod verification;

pub use config::Config;
pub use pipeline::App;
pub use provider::Provider;

/// The futures the pipeline's stores return (object-safe, so stores are swappable).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
