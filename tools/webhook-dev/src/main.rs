//! `webhook-dev`: build sample events, run the real function binaries locally, demo.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use webhook_dev::event::{api_gateway_event, Delivery, Format, Signatures};
use webhook_dev::local::Aws;
use webhook_dev::manifest::{self, Manifest};
use webhook_dev::runtime_api::{FunctionProcess, Reply};
use webhook_intake::lambda::ProxyResponse;
use webhook_intake::Provider;

#[derive(Parser)]
#[command(name = "webhook-dev", version, about = "Developer and operator tooling for the webhook intake")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print an API Gateway event for a payload, signed as the provider would sign it.
    Event {
        /// github, github-enterprise or gitlab.
        #[arg(long)]
        provider: String,
        /// X-GitHub-Event / X-Gitlab-Event value, e.g. pull_request or "Merge Request Hook".
        #[arg(long)]
        event: String,
        /// File holding the JSON body, sent byte for byte.
        #[arg(long)]
        payload: PathBuf,
        /// GitHub webhook secret or GitLab token.
        #[arg(long)]
        secret: String,
        /// Required for GitHub: the hook's installation target `type/id` (repository/…,
        /// organization/…, integration/…); for GHES: the enterprise host. Not used for GitLab.
        #[arg(long, default_value = "")]
        target: String,
        #[arg(long, value_enum, default_value_t = Format::HttpApi)]
        format: Format,
        #[arg(long, value_enum, default_value_t = Signatures::Both)]
        signatures: Signatures,
        /// Delivery id (default: derived from the payload path).
        #[arg(long)]
        delivery_id: Option<String>,
        /// Base64-encode the body, as HTTP APIs do for some content types.
        #[arg(long)]
        base64: bool,
    },
    /// Regenerate every file in events/ from events/manifest.json and fixtures/payloads/.
    Events {
        /// The repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Run a function binary under a local Lambda Runtime API and invoke it with event files.
    Invoke {
        /// Path of the built function binary (e.g. target/debug/github-webhook).
        #[arg(long)]
        binary: PathBuf,
        /// Show the function's own log lines.
        #[arg(long)]
        logs: bool,
        /// Event files (e.g. from events/) to send, in order.
        #[arg(required = true)]
        events: Vec<PathBuf>,
    },
    /// Create the dev secret records and a queue, send every sample in events/ through the
    /// real binaries, and print the responses and the envelopes read back from the queue.
    Demo {
        /// The repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Where the built function binaries are.
        #[arg(long, default_value = "target/debug")]
        bin_dir: PathBuf,
        #[arg(long, default_value = "webhooks")]
        secret_prefix: String,
        #[arg(long, default_value = "webhook-intake-demo")]
        queue_name: String,
        /// Show the functions' own log lines.
        #[arg(long)]
        logs: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Event { provider, event, payload, secret, target, format, signatures, delivery_id, base64 } => {
            event_command(&provider, &event, &payload, &secret, &target, format, signatures, delivery_id, base64)
        }
        Command::Events { root } => events_command(&root),
        Command::Invoke { binary, logs, events } => invoke_command(&binary, logs, &events).await,
        Command::Demo { root, bin_dir, secret_prefix, queue_name, logs } => {
            demo(&root, &bin_dir, &secret_prefix, &queue_name, logs).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webhook-dev: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn event_command(
    provider: &str,
    event: &str,
    payload: &Path,
    secret: &str,
    target: &str,
    format: Format,
    signatures: Signatures,
    delivery_id: Option<String>,
    base64: bool,
) -> Result<(), String> {
    let provider = Provider::from_name(provider)
        .ok_or_else(|| format!("unknown provider {provider:?} (github, github-enterprise, gitlab)"))?;
    if provider != Provider::GitLab && target.is_empty() {
        return Err("--target is required for GitHub (type/id) and GHES (host)".into());
    }
    if provider == Provider::GitHub && !target.contains('/') {
        return Err(format!("--target for GitHub is type/id, e.g. organization/123, got {target:?}"));
    }
    let body = std::fs::read(payload).map_err(|e| format!("{}: {e}", payload.display()))?;
    let delivery_id =
        delivery_id.unwrap_or_else(|| webhook_dev::event::uuid_from(payload.to_string_lossy().as_bytes()));
    let delivery = Delivery { provider, event, body: &body, secret, delivery_id: &delivery_id, target, signatures };
    let value = api_gateway_event(format, provider.rules().route, &delivery.headers(), &body, base64);
    let mut out = serde_json::to_string_pretty(&value).expect("JSON value serializes");
    out.push('\n');
    use std::io::Write;
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(())
}

fn events_command(root: &Path) -> Result<(), String> {
    let manifest = Manifest::load(&root.join("events/manifest.json"))?;
    let written = manifest::write_all(root, &manifest)?;
    println!("wrote {} event files under {}", written.len(), root.join("events").display());
    Ok(())
}

fn response_of(reply: Reply) -> Result<ProxyResponse, String> {
    match reply {
        Reply::Response(body) => {
            serde_json::from_slice(&body).map_err(|e| format!("function returned a non-proxy response: {e}"))
        }
        Reply::Error(body) => Err(format!("function reported an error: {}", String::from_utf8_lossy(&body))),
    }
}

async fn invoke_command(binary: &Path, logs: bool, events: &[PathBuf]) -> Result<(), String> {
    let mut function =
        FunctionProcess::spawn(binary, &[], logs).await.map_err(|e| format!("{}: {e}", binary.display()))?;
    for path in events {
        let event = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let response = response_of(function.invoke(event).await?)?;
        println!("{}  {}  {}", path.display(), response.status_code, response.body);
    }
    Ok(())
}

async fn demo(root: &Path, bin_dir: &Path, prefix: &str, queue_name: &str, logs: bool) -> Result<(), String> {
    let manifest = Manifest::load(&root.join("events/manifest.json"))?;
    let aws = Aws::from_env().await;
    let queue_url = aws.create_queue(queue_name).await?;
    aws.drain(&queue_url).await?;
    let bucket = format!("{queue_name}-payloads");
    aws.create_bucket(&bucket).await?;
    println!("queue    {queue_url}");
    println!("bucket   {bucket}  (payloads too big for one message)");
    for record in &manifest.records {
        let id = format!("{prefix}/{}/{}", record.provider()?.name(), record.routing_key);
        aws.put_secret(&id, &record.value()).await?;
        println!("secret   {id}  (team {})", record.team_id.as_deref().unwrap_or("-"));
    }
    println!();
    println!("{:<58} {:<6} {:<8} response", "event file", "status", "expected");
    let env = vec![
        ("QUEUE_URL".to_owned(), queue_url.clone()),
        ("SECRET_PREFIX".to_owned(), prefix.to_owned()),
        ("PAYLOAD_BUCKET".to_owned(), bucket.clone()),
    ];
    let (mut sent, mut accepted, mut mismatches) = (0, 0, 0);
    for provider in Provider::ALL {
        let binary = bin_dir.join(format!("{}-webhook", provider.name()));
        let mut function =
            FunctionProcess::spawn(&binary, &env, logs).await.map_err(|e| format!("{}: {e}", binary.display()))?;
        for spec in manifest.events.iter().filter(|s| s.provider().ok() == Some(provider)) {
            let path = spec.path(root);
            let event = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let response = response_of(function.invoke(event).await?)?;
            sent += 1;
            if response.status_code == 202 {
                accepted += 1;
            }
            let verdict = if response.status_code == spec.expect {
                spec.expect.to_string()
            } else {
                format!("{} !!", spec.expect)
            };
            if response.status_code != spec.expect {
                mismatches += 1;
            }
            println!("{:<58} {:<6} {:<8} {}", spec.file, response.status_code, verdict, response.body);
        }
    }
    println!();
    println!("envelopes read back from the queue (payload elided here; the message holds it whole):");
    let messages = aws.drain(&queue_url).await?;
    for m in &messages {
        let mut envelope: serde_json::Value =
            serde_json::from_str(&m.body).map_err(|e| format!("envelope is not JSON: {e}"))?;
        let payload_bytes = envelope.get("payload").map(|p| p.to_string().len()).unwrap_or(0);
        envelope["payload"] = serde_json::Value::String(format!("<{payload_bytes} bytes of JSON>"));
        println!("envelope {}", serde_json::to_string(&envelope).expect("JSON value serializes"));
    }
    println!();
    println!(
        "{sent} deliveries sent, {accepted} accepted (202), {} envelopes read back from the queue",
        messages.len()
    );
    if mismatches > 0 || messages.len() != accepted {
        return Err(format!("{mismatches} unexpected statuses; {accepted} accepted vs {} queued", messages.len()));
    }
    Ok(())
}
