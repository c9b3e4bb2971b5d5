//! Shared set-up for the integration tests: a fresh queue and secret prefix on moto server
//! per test, the sample events, and requests built the way source hosts send them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use webhook_dev::event::{api_gateway_event, Delivery, Format, Signatures};
use webhook_dev::local::{Aws, Received};
use webhook_dev::manifest::{EventSpec, Manifest};
use webhook_intake::http::HttpRequest;
use webhook_intake::lambda::decode_event;
use webhook_intake::{App, Config, Provider};

pub use webhook_dev;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the workspace").to_path_buf()
}

pub fn manifest() -> Manifest {
    Manifest::load(&root().join("events/manifest.json")).expect("events/manifest.json loads")
}

/// A name no other test (or earlier run against the same server) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn require_moto() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run the tests with scripts/test.sh, which starts moto server"
    );
}

/// One test's AWS resources: its own queue and secret prefix, with the dev records of
/// events/manifest.json provisioned under that prefix.
pub struct Stack {
    pub aws: Aws,
    pub prefix: String,
    pub queue_url: String,
    pub bucket: String,
}

impl Stack {
    pub async fn new(fifo: bool) -> Stack {
        require_moto();
        Stack::on(Aws::from_env().await, fifo).await
    }

    /// A stack on a given endpoint (the fault tests run their own moto server).
    pub async fn on(aws: Aws, fifo: bool) -> Stack {
        let name = unique("intake");
        let queue = if fifo { format!("{name}.fifo") } else { name.clone() };
        let queue_url = aws.create_queue(&queue).await.unwrap();
        let stack = Stack { aws, prefix: format!("test/{name}"), queue_url, bucket: name.to_ascii_lowercase() };
        stack.provision().await;
        stack
    }

    /// Creates (again, after a server restart) the queue, bucket and dev records.
    pub async fn provision(&self) {
        let queue = self.queue_url.rsplit('/').next().unwrap();
        assert_eq!(self.aws.create_queue(queue).await.unwrap(), self.queue_url);
        self.aws.create_bucket(&self.bucket).await.unwrap();
        for record in manifest().records {
            self.put_record(record.provider().unwrap(), &record.routing_key, &record.value()).await;
        }
    }

    pub fn secret_id(&self, provider: Provider, routing_key: &str) -> String {
        format!("{}/{}/{}", self.prefix, provider.name(), routing_key)
    }

    pub async fn put_record(&self, provider: Provider, routing_key: &str, value: &str) {
        self.aws.put_secret(&self.secret_id(provider, routing_key), value).await.unwrap();
    }

    /// The configuration a deployed function would read, pointing at this stack.
    pub fn config(&self, provider: Provider) -> Config {
        self.config_with(provider, &[])
    }

    pub fn config_with(&self, provider: Provider, extra: &[(&str, &str)]) -> Config {
        let vars: Vec<(String, String)> = [
            ("QUEUE_URL", self.queue_url.as_str()),
            ("SECRET_PREFIX", self.prefix.as_str()),
            ("PAYLOAD_BUCKET", self.bucket.as_str()),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Config::from_lookup(provider, |k| vars.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone())).unwrap()
    }

    pub async fn app(&self, provider: Provider) -> App {
        App::connect(self.config(provider)).await
    }

    /// Environment for a function binary pointed at this stack.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("QUEUE_URL".into(), self.queue_url.clone()),
            ("SECRET_PREFIX".into(), self.prefix.clone()),
            ("PAYLOAD_BUCKET".into(), self.bucket.clone()),
        ]
    }

    /// Every message now in the queue (received and deleted).
    pub async fn messages(&self) -> Vec<Received> {
        self.aws.drain(&self.queue_url).await.unwrap()
    }
}

/// The request an events/ sample carries, decoded as the function decodes it.
pub fn sample_request(spec: &EventSpec) -> HttpRequest {
    let bytes = std::fs::read(spec.path(&root())).unwrap();
    decode_event(serde_json::from_slice(&bytes).unwrap()).unwrap()
}

pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(root().join("fixtures/payloads").join(path)).unwrap()
}

/// A delivery as the provider would send it (the tools' own builder).
pub type Send<'a> = Delivery<'a>;

/// The delivery as the pipeline receives it, through a REST API event (repeated headers kept).
pub trait AsRequest {
    fn request(&self) -> HttpRequest;
}

impl AsRequest for Delivery<'_> {
    fn request(&self) -> HttpRequest {
        request_with(self.provider, &self.headers(), self.body)
    }
}

pub fn request_with(provider: Provider, headers: &[(String, String)], body: &[u8]) -> HttpRequest {
    decode_event(api_gateway_event(Format::RestApi, provider.rules().route, headers, body, false)).unwrap()
}

/// A built function binary; the test command builds them before the tests run.
pub fn binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is missing: build with `cargo build --workspace --bins` (scripts/test.sh does)",
        path.display()
    );
    path
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Runs one raw event through the same entry point the Lambda runtime calls.
pub async fn invoke_raw(app: &App, event: serde_json::Value) -> webhook_intake::lambda::ProxyResponse {
    let event = lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default());
    match webhook_intake::lambda::invoke(app, event).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Signs `body` with the dev secret as `provider` would, into an HTTP API (2.0) event,
/// then lets `edit` change the event before it is sent.
pub fn signed_event(provider: Provider, event: &str, body: &[u8], secret: &str) -> serde_json::Value {
    let target = match provider {
        Provider::GitHub => "repository/186853002",
        Provider::GitHubEnterprise => "octocoders.github.io",
        Provider::GitLab => "",
    };
    let send = Send {
        provider,
        event,
        body,
        secret,
        target,
        delivery_id: "hostile-0001",
        signatures: Signatures::Sha256,
        signing: None,
    };
    api_gateway_event(Format::HttpApi, provider.rules().route, &send.headers(), body, false)
}

/// A moto server of the test's own, so a test can stop and restart it.
pub struct MotoServer {
    child: Option<std::process::Child>,
    pub port: u16,
}

impl MotoServer {
    pub fn start() -> MotoServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        MotoServer::start_on(port)
    }

    pub fn start_on(port: u16) -> MotoServer {
        let child = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server is not on PATH: run the tests with scripts/test.sh");
        let server = MotoServer { child: Some(child), port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !server.answers() {
            assert!(std::time::Instant::now() < deadline, "moto server on port {port} did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        server
    }

    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        if s.write_all(b"GET /moto-api/ HTTP/1.0\r\n\r\n").is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The functions' SDK configuration, pointed at `endpoint`.
pub async fn sdk_for(endpoint: &str) -> aws_config::SdkConfig {
    webhook_intake::aws::sdk_config_at(Some(endpoint)).await
}
