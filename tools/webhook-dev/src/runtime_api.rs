//! A local Lambda Runtime API: runs the real function binaries outside Lambda.
//!
//! It serves the four endpoints a custom runtime uses (`next`, `response`, `error`,
//! `init/error`), hands out queued events one at a time and returns what the function
//! answered. Used by the tests, the local demo and the cold-start measurement.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::sync::{oneshot, Notify};

/// What the function reported for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Response(Vec<u8>),
    Error(Vec<u8>),
}

#[derive(Default)]
struct State {
    pending: VecDeque<(String, Vec<u8>, oneshot::Sender<Reply>)>,
    in_flight: HashMap<String, oneshot::Sender<Reply>>,
    init_error: Option<Vec<u8>>,
    first_next: Option<Instant>,
    next_id: u64,
}

#[derive(Clone)]
pub struct RuntimeApi {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
}

impl RuntimeApi {
    /// Starts serving on a free loopback port.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let api = RuntimeApi { addr: listener.local_addr()?, state: Arc::default(), wake: Arc::new(Notify::new()) };
        let server = api.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let api = server.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let api = api.clone();
                        async move { Ok::<_, Infallible>(api.serve(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(api)
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// When the function first asked for work (its cold start ended).
    pub fn first_next(&self) -> Option<Instant> {
        self.state.lock().unwrap().first_next
    }

    /// Queues `event` and waits for the function's reply.
    pub async fn invoke(&self, event: Vec<u8>, timeout: Duration) -> Result<Reply, String> {
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.state.lock().unwrap();
            if let Some(e) = &state.init_error {
                return Err(format!("function failed to start: {}", String::from_utf8_lossy(e)));
            }
            state.next_id += 1;
            let id = format!("req-{:08}", state.next_id);
            state.pending.push_back((id, event, tx));
        }
        self.wake.notify_waiters();
        self.wake.notify_one();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err("invocation dropped".into()),
            Err(_) => {
                let init = self.state.lock().unwrap().init_error.clone();
                Err(match init {
                    Some(e) => format!("function failed to start: {}", String::from_utf8_lossy(&e)),
                    None => format!("no reply within {timeout:?}"),
                })
            }
        }
    }

    async fn serve(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
            return respond(StatusCode::NOT_FOUND, "{}");
        };
        if rest == "invocation/next" {
            return self.next().await;
        }
        let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
        if rest == "init/error" {
            self.state.lock().unwrap().init_error = Some(body);
            return respond(StatusCode::ACCEPTED, r#"{"status":"OK"}"#);
        }
        let parts: Vec<&str> = rest.split('/').collect();
        if let ["invocation", id, kind @ ("response" | "error")] = parts[..] {
            let sender = self.state.lock().unwrap().in_flight.remove(id);
            if let Some(sender) = sender {
                let _ = sender.send(if kind == "response" { Reply::Response(body) } else { Reply::Error(body) });
                return respond(StatusCode::ACCEPTED, r#"{"status":"OK"}"#);
            }
            return respond(StatusCode::BAD_REQUEST, r#"{"errorMessage":"unknown request id"}"#);
        }
        respond(StatusCode::NOT_FOUND, "{}")
    }

    async fn next(&self) -> Response<Full<Bytes>> {
        self.state.lock().unwrap().first_next.get_or_insert_with(Instant::now);
        loop {
            let notified = self.wake.notified();
            let item = {
                let mut state = self.state.lock().unwrap();
                state.pending.pop_front().map(|(id, event, tx)| {
                    state.in_flight.insert(id.clone(), tx);
                    (id, event)
                })
            };
            if let Some((id, event)) = item {
                let deadline =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis()
                        + 10_000;
                return Response::builder()
                    .status(StatusCode::OK)
                    .header("content-type", "application/json")
                    .header("lambda-runtime-aws-request-id", id)
                    .header("lambda-runtime-deadline-ms", deadline.to_string())
                    .header(
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:local",
                    )
                    .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                    .body(Full::new(Bytes::from(event)))
                    .expect("static response parts are valid");
            }
            notified.await;
        }
    }
}

fn respond(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("static response parts are valid")
}

/// A function binary running against a [`RuntimeApi`]; killed when dropped.
pub struct FunctionProcess {
    pub api: RuntimeApi,
    pub started: Instant,
    child: tokio::process::Child,
    /// Everything the function wrote to stdout (log lines and metric lines).
    logs: Arc<Mutex<Vec<String>>>,
}

impl FunctionProcess {
    /// Starts `binary` with `env` added to the environment the Lambda service would give it;
    /// its log lines (stdout) are shown only when `show_logs`.
    pub async fn spawn(binary: &Path, env: &[(String, String)], show_logs: bool) -> std::io::Result<FunctionProcess> {
        let api = RuntimeApi::start().await?;
        let name = binary.file_name().and_then(|n| n.to_str()).unwrap_or("function").to_owned();
        let mut command = tokio::process::Command::new(binary);
        command
            .env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn()?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            let recent = logs.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncBufReadExt;
                let mut lines = tokio::io::BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if show_logs {
                        println!("{line}");
                    }
                    let mut recent = recent.lock().unwrap();
                    if recent.len() < 1_000_000 {
                        recent.push(line);
                    }
                }
            });
        }
        Ok(FunctionProcess { api, started, child, logs })
    }

    /// Sends one event and returns the function's reply; fails at once if the process exits.
    pub async fn invoke(&mut self, event: Vec<u8>) -> Result<Reply, String> {
        let reply = tokio::select! {
            reply = self.api.invoke(event, Duration::from_secs(15)) => reply,
            status = self.child.wait() => Err(match status {
                Ok(status) => format!("function exited with {status}"),
                Err(e) => format!("function process: {e}"),
            }),
        };
        reply.map_err(|e| {
            // Give the log reader a moment to take the last lines.
            std::thread::sleep(Duration::from_millis(50));
            let logs = self.logs.lock().unwrap();
            if logs.is_empty() {
                e
            } else {
                format!("{e}; its last log lines:\n{}", logs[logs.len().saturating_sub(20)..].join("\n"))
            }
        })
    }

    /// Every line the function has written to stdout so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Peak resident memory of the process so far (`VmHWM`, Linux), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// Waits until the function has asked for its first event (its start-up is over).
    pub async fn wait_ready(&self, timeout: Duration) -> Option<Duration> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(at) = self.api.first_next() {
                return Some(at.duration_since(self.started));
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// Waits for the process to exit (e.g. after a start-up failure).
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait()).await.ok().and_then(Result::ok)
    }
}
