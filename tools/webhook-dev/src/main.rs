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
#[command(
    name = "webhook-dev",
    version,
    about = "Developer and operator tooling for the webhook intake",
    long_about = "Developer and operator tooling for the webhook intake.\n\nAWS commands (provision, demo, measure, serve) use the standard AWS environment (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, ...)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What a delivery is made of; `send` and `event` build it the same way.
#[derive(clap::Args)]
struct DeliveryArgs {
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
    /// Delivery id (default: `send` a fresh GUID, as a new delivery gets; `event` one derived
    /// from the payload path, so regenerated files stay the same).
    #[arg(long)]
    delivery_id: Option<String>,
    /// GitLab signing token (whsec_...): add Standard Webhooks signature headers.
    #[arg(long)]
    signing_secret: Option<String>,
}

impl DeliveryArgs {
    /// The provider and the body, with the target checked as the functions will check it.
    fn read(&self) -> Result<(Provider, Vec<u8>), String> {
        let provider = provider_named(&self.provider)?;
        if provider != Provider::GitLab && self.target.is_empty() {
            return Err("--target is required for GitHub (type/id) and GHES (host)".into());
        }
        if provider == Provider::GitHub && !self.target.contains('/') {
            return Err(format!("--target for GitHub is type/id, e.g. organization/123, got {:?}", self.target));
        }
        let body = std::fs::read(&self.payload).map_err(|e| format!("{}: {e}", self.payload.display()))?;
        Ok((provider, body))
    }

    fn delivery<'a>(
        &'a self,
        provider: Provider,
        body: &'a [u8],
        delivery_id: &'a str,
        signatures: Signatures,
        signed_at: u64,
    ) -> Delivery<'a> {
        Delivery {
            provider,
            event: &self.event,
            body,
            secret: &self.secret,
            delivery_id,
            target: &self.target,
            signatures,
            signing: self.signing_secret.as_deref().map(|s| (s, signed_at)),
        }
    }
}

/// `provision`: which record, and what to change in it.
#[derive(clap::Args)]
struct ProvisionArgs {
    #[arg(long)]
    provider: String,
    /// GitHub: `type/id` (e.g. organization/123, integration/789 for an App); GHES: the
    /// enterprise host. GitLab: not needed (the token is the key).
    #[arg(long)]
    routing_key: Option<String>,
    #[arg(long)]
    team_id: Option<String>,
    #[arg(long)]
    connection_id: Option<String>,
    /// Add a secret (first, so it is tried first); generated when no value is given.
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    add_secret: Option<String>,
    /// Remove a secret (GitLab: delete the record of that token, after writing the added
    /// one, which then starts from the removed record).
    #[arg(long)]
    remove_secret: Option<String>,
    /// GitLab: the added token's new record starts from this token's record (team,
    /// connection, signing secrets), which stays until removed.
    #[arg(long)]
    copy_from_token: Option<String>,
    #[arg(long, default_value = "webhooks")]
    secret_prefix: String,
    /// Base URL of the deployed API (the stack's output), to print the webhook URL.
    #[arg(long)]
    api_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the header a provider would send for a body: X-Hub-Signature-256 (GitHub, GHES)
    /// or X-Gitlab-Token (GitLab).
    Sign {
        /// github, github-enterprise or gitlab.
        #[arg(long)]
        provider: String,
        /// GitHub webhook secret or GitLab token.
        #[arg(long)]
        secret: String,
        /// File holding the body (signed byte for byte).
        #[arg(long, conflicts_with = "body")]
        payload: Option<PathBuf>,
        /// The body as a string.
        #[arg(long)]
        body: Option<String>,
        /// GitLab signing token (whsec_...): also print the Standard Webhooks headers.
        #[arg(long)]
        signing_secret: Option<String>,
        /// Message id for the Standard Webhooks signature (default: a fresh GUID).
        #[arg(long)]
        webhook_id: Option<String>,
        /// Unix time to sign at (default: now).
        #[arg(long)]
        signed_at: Option<u64>,
    },
    /// Deliver a payload to a URL exactly as the provider would (all headers, signature,
    /// fresh delivery GUID) and print the status and body.
    Send {
        /// Full webhook URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/api/github/webhook
        #[arg(long)]
        url: String,
        #[command(flatten)]
        delivery: DeliveryArgs,
    },
    /// Serve the three real handlers on a local port at their API paths, configured from the
    /// same environment as the functions (QUEUE_URL, SECRET_PREFIX, PAYLOAD_BUCKET, ...).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// Create or rotate a secret record and print what to give the customer.
    Provision(ProvisionArgs),
    /// Print an API Gateway event for a payload, signed as the provider would sign it.
    Event {
        #[command(flatten)]
        delivery: DeliveryArgs,
        #[arg(long, value_enum, default_value_t = Format::HttpApi)]
        format: Format,
        #[arg(long, value_enum, default_value_t = Signatures::Both)]
        signatures: Signatures,
        /// Base64-encode the body, as HTTP APIs do for some content types.
        #[arg(long)]
        base64: bool,
        /// Unix time to sign at (default: now; deliveries older than 5 minutes are refused).
        #[arg(long)]
        signed_at: Option<u64>,
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
    /// Measure each function binary: exec → first Runtime API `next`, exec → first response,
    /// and peak memory handling a large GitHub delivery (against the configured AWS endpoint).
    Measure {
        /// Where the built function binaries are (measure release builds).
        #[arg(long, default_value = "target/release")]
        bin_dir: PathBuf,
        /// Size of the large delivery's payload.
        #[arg(long, default_value_t = 6 << 20)]
        payload_bytes: usize,
        /// Cold starts measured per binary (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
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
        Command::Sign { provider, secret, payload, body, signing_secret, webhook_id, signed_at } => {
            sign_command(&provider, &secret, payload, body, signing_secret, webhook_id, signed_at)
        }
        Command::Send { url, delivery } => send_command(&url, &delivery).await,
        Command::Serve { listen } => match webhook_dev::serve::apps_from_env().await {
            Ok(apps) => webhook_dev::serve::serve(listen, apps).await,
            Err(e) => Err(e),
        },
        Command::Provision(args) => provision(args).await,
        Command::Event { delivery, format, signatures, base64, signed_at } => {
            event_command(&delivery, format, signatures, base64, signed_at)
        }
        Command::Events { root } => events_command(&root),
        Command::Invoke { binary, logs, events } => invoke_command(&binary, logs, &events).await,
        Command::Measure { bin_dir, payload_bytes, runs } => measure(&bin_dir, payload_bytes, runs).await,
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

fn event_command(
    args: &DeliveryArgs,
    format: Format,
    signatures: Signatures,
    base64: bool,
    signed_at: Option<u64>,
) -> Result<(), String> {
    let (provider, body) = args.read()?;
    let delivery_id = args
        .delivery_id
        .clone()
        .unwrap_or_else(|| webhook_dev::event::uuid_from(args.payload.to_string_lossy().as_bytes()));
    let delivery = args.delivery(provider, &body, &delivery_id, signatures, signed_at.unwrap_or_else(unix_now));
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
            // A signed sample is stale by design; the same delivery signed now must pass.
            if spec.signing_secret.is_some() {
                let fresh = webhook_dev::manifest::EventSpec {
                    file: format!("{} (signed now)", spec.file),
                    signed_at: Some(
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap_or_default()
                            .as_secs(),
                    ),
                    ..spec.clone()
                };
                let event = serde_json::to_vec(&fresh.build(root)?).expect("JSON value serializes");
                let response = response_of(function.invoke(event).await?)?;
                sent += 1;
                accepted += usize::from(response.status_code == 202);
                mismatches += usize::from(response.status_code != 202);
                println!("{:<58} {:<6} {:<8} {}", fresh.file, response.status_code, 202, response.body);
            }
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

#[path = "../../../shared/benches/support/push_payload.rs"]
mod push_payload;

async fn measure(bin_dir: &Path, payload_bytes: usize, runs: usize) -> Result<(), String> {
    const SECRET: &str = "measure-secret";
    let aws = Aws::from_env().await;
    let queue_url = aws.create_queue("webhook-intake-measure").await?;
    aws.create_bucket("webhook-intake-measure-payloads").await?;
    let prefix = "measure";
    let record = format!(r#"{{"team_id":"t_measure","secrets":["{SECRET}"]}}"#);
    aws.put_secret(&format!("{prefix}/github/repository/1"), &record).await?;
    aws.put_secret(&format!("{prefix}/github-enterprise/ghe.example.com"), &record).await?;
    let token_key = webhook_intake::routing_key::RoutingKey::for_gitlab_token(SECRET);
    aws.put_secret(&format!("{prefix}/gitlab/{token_key}"), &record).await?;
    let env = vec![
        ("QUEUE_URL".to_owned(), queue_url.clone()),
        ("SECRET_PREFIX".to_owned(), prefix.to_owned()),
        ("PAYLOAD_BUCKET".to_owned(), "webhook-intake-measure-payloads".to_owned()),
    ];
    let small = br#"{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}"#;
    let event_for = |provider: Provider, body: &[u8], id: &str| {
        let (event, target) = match provider {
            Provider::GitHub => ("push", "repository/1"),
            Provider::GitHubEnterprise => ("push", "ghe.example.com"),
            Provider::GitLab => ("Push Hook", ""),
        };
        let delivery = Delivery {
            provider,
            event,
            body,
            secret: SECRET,
            delivery_id: id,
            target,
            signatures: Signatures::Sha256,
            signing: None,
        };
        serde_json::to_vec(&api_gateway_event(
            Format::HttpApi,
            provider.rules().route,
            &delivery.headers(),
            body,
            false,
        ))
        .expect("JSON value serializes")
    };
    println!("{:<28} {:>10} {:>12} {:>16} {:>10}", "binary", "size", "exec→next", "exec→response", "idle RSS");
    let median = |mut v: Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    for provider in Provider::ALL {
        let binary = bin_dir.join(format!("{}-webhook", provider.name()));
        let size = std::fs::metadata(&binary).map_err(|e| format!("{}: {e}", binary.display()))?.len();
        let (mut to_next, mut to_response, mut idle) = (Vec::new(), Vec::new(), 0);
        for run in 0..runs.max(1) {
            let mut function = FunctionProcess::spawn(&binary, &env, false).await.map_err(|e| e.to_string())?;
            to_next.push(
                function.wait_ready(std::time::Duration::from_secs(10)).await.ok_or("function never asked for work")?,
            );
            let reply = function.invoke(event_for(provider, small, &format!("measure-small-{run}"))).await?;
            to_response.push(function.started.elapsed());
            let status = response_of(reply)?.status_code;
            if status != 202 {
                return Err(format!("{}: small delivery answered {status}", provider.name()));
            }
            idle = function.peak_rss().unwrap_or(0);
        }
        println!(
            "{:<28} {:>8.1}MB {:>10.2}ms {:>14.2}ms {:>8.1}MB",
            binary.display(),
            size as f64 / 1e6,
            median(to_next).as_secs_f64() * 1e3,
            median(to_response).as_secs_f64() * 1e3,
            idle as f64 / 1e6
        );
    }
    // Peak memory for one large delivery, in a fresh process (GitHub function).
    let binary = bin_dir.join("github-webhook");
    let mut function = FunctionProcess::spawn(&binary, &env, false).await.map_err(|e| e.to_string())?;
    function.wait_ready(std::time::Duration::from_secs(10)).await.ok_or("function never asked for work")?;
    function.invoke(event_for(Provider::GitHub, small, "measure-warm")).await?;
    let before = function.peak_rss().unwrap_or(0);
    let body = push_payload::push_payload(payload_bytes);
    let event = event_for(Provider::GitHub, &body, "measure-large");
    let event_len = event.len();
    let started = std::time::Instant::now();
    let response = response_of(function.invoke(event).await?)?;
    let took = started.elapsed();
    let peak = function.peak_rss().unwrap_or(0);
    println!();
    println!(
        "large delivery: payload {:.2} MiB (event {:.2} MiB) → {} in {:.1} ms; peak RSS {:.1} MB (before {:.1} MB); \
         budget 4 × payload + 20 MB = {:.1} MB",
        body.len() as f64 / (1 << 20) as f64,
        event_len as f64 / (1 << 20) as f64,
        response.status_code,
        took.as_secs_f64() * 1e3,
        peak as f64 / 1e6,
        before as f64 / 1e6,
        (4 * body.len()) as f64 / 1e6 + 20.0
    );
    aws.drain(&queue_url).await?;
    if response.status_code != 202 {
        return Err(format!("large delivery answered {}: {}", response.status_code, response.body));
    }
    Ok(())
}

fn provider_named(name: &str) -> Result<Provider, String> {
    Provider::from_name(name).ok_or_else(|| format!("unknown provider {name:?} (github, github-enterprise, gitlab)"))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs()
}

fn sign_command(
    provider: &str,
    secret: &str,
    payload: Option<PathBuf>,
    body: Option<String>,
    signing_secret: Option<String>,
    webhook_id: Option<String>,
    signed_at: Option<u64>,
) -> Result<(), String> {
    let provider = provider_named(provider)?;
    let body = match (payload, body) {
        (Some(path), _) => std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?,
        (None, Some(body)) => body.into_bytes(),
        (None, None) => return Err("give the body with --payload FILE or --body STRING".into()),
    };
    match provider {
        Provider::GitLab => println!("X-Gitlab-Token: {secret}"),
        _ => println!("X-Hub-Signature-256: {}", webhook_intake::verification::sign_github(secret.as_bytes(), &body)),
    }
    if let Some(signing) = signing_secret {
        if provider != Provider::GitLab {
            return Err("--signing-secret is for GitLab signing tokens".into());
        }
        let key = webhook_intake::verification::signing_key(&signing)
            .map_err(|_| "--signing-secret is not whsec_<base64>")?;
        let id = webhook_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let at = signed_at.unwrap_or_else(unix_now);
        println!("webhook-id: {id}");
        println!("webhook-timestamp: {at}");
        println!("webhook-signature: {}", webhook_intake::verification::sign_standard_webhook(&key, &id, at, &body));
    }
    Ok(())
}

async fn send_command(url: &str, args: &DeliveryArgs) -> Result<(), String> {
    let (provider, body) = args.read()?;
    let delivery_id = args.delivery_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let headers = args.delivery(provider, &body, &delivery_id, Signatures::Both, unix_now()).headers();
    let url = url.to_owned();
    let (status, text) = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut request = agent.post(&url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let mut response = request.send(&body[..]).map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(|e| format!("reading the response: {e}"))?;
        Ok::<_, String>((status, text))
    })
    .await
    .map_err(|e| e.to_string())??;
    println!("delivery {delivery_id}: {status} {text}");
    if status >= 400 {
        return Err(format!("the endpoint answered {status}"));
    }
    Ok(())
}

fn random_secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

/// The record stored at `id`, if any; one that cannot be read is not silently replaced.
async fn existing_record(aws: &Aws, id: &str) -> Result<Option<webhook_intake::secret_record::SecretRecord>, String> {
    match aws.get_secret(id).await? {
        Some(value) => webhook_intake::secret_record::SecretRecord::parse(&value)
            .map(Some)
            .map_err(|e| format!("{id}: existing record unusable: {e}")),
        None => Ok(None),
    }
}

async fn provision(args: ProvisionArgs) -> Result<(), String> {
    let ProvisionArgs {
        provider,
        routing_key,
        team_id,
        connection_id,
        add_secret,
        remove_secret,
        copy_from_token,
        secret_prefix: prefix,
        api_url,
    } = args;
    use webhook_intake::routing_key::RoutingKey;
    use webhook_intake::secret_record::SecretRecord;
    let provider = provider_named(&provider)?;
    if add_secret.is_none() && remove_secret.is_none() && team_id.is_none() && connection_id.is_none() {
        return Err("nothing to do: give --add-secret, --remove-secret, --team-id or --connection-id".into());
    }
    let added = match add_secret {
        Some(s) if s.is_empty() => Some(random_secret()?),
        other => other,
    };
    let aws = Aws::from_env().await;
    let url = api_url.map(|base| format!("{}{}", base.trim_end_matches('/'), provider.rules().route));
    if provider == Provider::GitLab {
        // The token is the routing key: a new token is a new record, removing one deletes it.
        if routing_key.is_some() {
            return Err("GitLab records are keyed by their token; drop --routing-key".into());
        }
        if added.is_none() && remove_secret.is_none() {
            return Err("GitLab records are keyed by their token: give --add-secret TOKEN (the current token) \
                        to change its team or connection"
                .into());
        }
        if copy_from_token.is_some() && added.is_none() {
            return Err("--copy-from-token needs --add-secret (the new token)".into());
        }
        let record_id = |token: &str| format!("{prefix}/gitlab/{}", RoutingKey::for_gitlab_token(token));
        if let Some(token) = added {
            let id = record_id(&token);
            // The new record starts from what is there: the token's own record (re-adding a
            // token updates it), else the one it replaces. Signing secrets above all must carry
            // over: their loss would quietly stop signatures being required.
            let base = match existing_record(&aws, &id).await? {
                Some(own) => Some(own),
                None => match copy_from_token.as_deref().or(remove_secret.as_deref()) {
                    Some(old) => {
                        let old_id = record_id(old);
                        let found = existing_record(&aws, &old_id).await?;
                        if found.is_none() && copy_from_token.is_some() {
                            return Err(format!("no record {old_id} to copy from"));
                        }
                        found
                    }
                    None => None,
                },
            };
            let record = SecretRecord::new(
                team_id.or_else(|| base.as_ref().and_then(|r| r.team_id.clone())),
                connection_id.or_else(|| base.as_ref().and_then(|r| r.connection_id.clone())),
                vec![token.clone()],
            )
            .and_then(|r| r.with_signing_secrets(base.map(|b| b.signing_secrets().to_vec()).unwrap_or_default()))
            .map_err(|e| format!("{id}: {e}"))?;
            aws.put_secret(&id, &record.to_json()).await?;
            println!("record   {id}");
            if !record.signing_keys().is_empty() {
                println!("signing  {} signing secret(s) kept: deliveries must be signed", record.signing_keys().len());
            }
            if let Some(url) = url {
                println!("URL      {url}");
            }
            println!("token    {token}");
            println!("In GitLab: Settings > Webhooks, URL above, Secret token above, SSL verification on.");
        }
        // Only after the new record is written: a failed add leaves the old token working.
        if let Some(token) = remove_secret {
            let id = record_id(&token);
            aws.delete_secret(&id).await?;
            println!("deleted {id}");
        }
        return Ok(());
    }
    if copy_from_token.is_some() {
        return Err("--copy-from-token is for GitLab records".into());
    }
    let key = routing_key.ok_or("--routing-key is required for GitHub (type/id) and GHES (host)")?;
    let key = if provider == Provider::GitHubEnterprise { key.to_ascii_lowercase() } else { key };
    let parsed =
        RoutingKey::parse(&key).ok_or_else(|| format!("{key:?} is not a routing key ([A-Za-z0-9._-], type/id)"))?;
    if (provider == Provider::GitHub) != key.contains('/') {
        return Err(format!("{key:?}: GitHub keys are type/id, GHES keys are a host"));
    }
    let id = format!("{prefix}/{}/{parsed}", provider.name());
    let existing = existing_record(&aws, &id).await?;
    let (old_team, old_connection, mut secrets, signing) = match existing {
        Some(r) => (r.team_id.clone(), r.connection_id.clone(), r.secrets().to_vec(), r.signing_secrets().to_vec()),
        None => (None, None, Vec::new(), Vec::new()),
    };
    if let Some(secret) = &added {
        secrets.retain(|s| s != secret);
        secrets.insert(0, secret.clone());
    }
    if let Some(secret) = &remove_secret {
        if !secrets.contains(secret) {
            return Err(format!("{id} does not hold that secret"));
        }
        secrets.retain(|s| s != secret);
        if secrets.is_empty() {
            return Err(format!("refusing to remove the last secret of {id}: add the new one first"));
        }
    }
    let record = SecretRecord::new(team_id.or(old_team), connection_id.or(old_connection), secrets)
        .and_then(|r| r.with_signing_secrets(signing))
        .map_err(|e| format!("{id}: {e}"))?;
    aws.put_secret(&id, &record.to_json()).await?;
    println!("record   {id}  ({} secret(s), newest first)", record.secrets().len());
    if let Some(url) = url {
        println!("URL      {url}");
    }
    if let Some(secret) = added {
        println!("secret   {secret}");
        println!("On GitHub: webhook URL above, content type application/json, secret above.");
    }
    Ok(())
}
