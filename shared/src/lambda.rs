//! API Gateway and Function URL events in and out, decoded by hand.
//!
//! lambda_http's own conversion panics on a body marked base64 that is not base64, so the
//! functions take the raw event and decode it here, where every malformed event becomes a
//! 400 JSON response. One lenient shape covers REST API (payload 1.0), HTTP API (2.0) and
//! Function URL events.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use crate::http::{HttpRequest, HttpResponse};
use crate::response::Outcome;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct HttpEvent {
    /// REST API (1.0).
    http_method: Option<String>,
    request_context: Option<RequestContext>,
    headers: Option<HashMap<String, Option<String>>>,
    /// REST API (1.0): every value of repeated headers.
    multi_value_headers: Option<HashMap<String, Option<Vec<String>>>>,
    body: Option<String>,
    is_base64_encoded: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RequestContext {
    /// HTTP API (2.0) and Function URLs.
    http: Option<HttpContext>,
    http_method: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HttpContext {
    method: Option<String>,
}

/// The proxy response all three event sources accept.
#[derive(Serialize, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProxyResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl From<HttpResponse> for ProxyResponse {
    fn from(r: HttpResponse) -> Self {
        ProxyResponse {
            status_code: r.status,
            headers: r.headers.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            body: r.body,
            is_base64_encoded: false,
        }
    }
}

/// More headers than any source host sends.
pub const MAX_HEADERS: usize = 256;

/// Turns a raw event into the pipeline's request, or the 400 it deserves.
pub fn decode_event(event: serde_json::Value) -> Result<HttpRequest, Outcome> {
    // serde would also read a struct from an array; an event is only ever an object.
    if !event.is_object() {
        return Err(Outcome::BadRequest("not an API Gateway or Function URL HTTP event"));
    }
    let event: HttpEvent = serde_json::from_value(event)
        .map_err(|_| Outcome::BadRequest("not an API Gateway or Function URL HTTP event"))?;
    let context = event.request_context.unwrap_or_default();
    let method = event
        .http_method
        .or(context.http.and_then(|h| h.method))
        .or(context.http_method)
        .ok_or(Outcome::BadRequest("event has no HTTP method"))?;
    let mut headers = HeaderMap::new();
    let pairs: Vec<(String, String)> = match (event.multi_value_headers, event.headers) {
        (Some(multi), _) if !multi.is_empty() => multi
            .into_iter()
            .flat_map(|(k, vs)| vs.unwrap_or_default().into_iter().map(move |v| (k.clone(), v)))
            .collect(),
        (_, Some(single)) => single.into_iter().filter_map(|(k, v)| Some((k, v?))).collect(),
        _ => Vec::new(),
    };
    // API Gateway passes far fewer; the cap keeps HeaderMap's own limit out of reach.
    if pairs.len() > MAX_HEADERS {
        return Err(Outcome::BadRequest("too many headers"));
    }
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Outcome::BadRequest("malformed header name"))?;
        let value = HeaderValue::from_str(&value).map_err(|_| Outcome::BadRequest("malformed header value"))?;
        headers.try_append(name, value).map_err(|_| Outcome::BadRequest("too many headers"))?;
    }
    let body = match (event.body, event.is_base64_encoded.unwrap_or(false)) {
        (None, _) => Vec::new(),
        (Some(b), false) => b.into_bytes(),
        (Some(b), true) => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|_| Outcome::BadRequest("body is marked base64 but is not valid base64"))?,
    };
    Ok(HttpRequest { method, headers, body })
}

/// One invocation: decode, run the pipeline, encode. Never fails and never panics on input.
#[cfg(feature = "aws")]
pub async fn invoke(
    app: &crate::App,
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
) -> Result<ProxyResponse, std::convert::Infallible> {
    let response = match decode_event(event.payload) {
        Ok(request) => app.handle(&request).await,
        Err(outcome) => {
            tracing::info!(
                provider = app.config().provider.name(),
                outcome = outcome.label(),
                status = outcome.status(),
                "undecodable event"
            );
            outcome.response()
        }
    };
    Ok(response.into())
}

/// Sets up logging (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`) and reads the
/// configuration; a bad setting ends start-up with one log line naming it.
#[cfg(feature = "aws")]
pub fn init(provider: crate::Provider) -> crate::Config {
    init_logging();
    match crate::Config::from_env(provider) {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("{e}");
            std::process::exit(1);
        }
    }
}

/// JSON or text log lines on stdout at `AWS_LAMBDA_LOG_LEVEL` (default INFO). Libraries are
/// held to DEBUG even when TRACE is asked for: at TRACE lambda_runtime logs the raw event
/// (payload and signature) and the HTTP clients log request bodies.
#[cfg(feature = "aws")]
pub fn init_logging() {
    use std::str::FromStr;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|l| LevelFilter::from_str(&l).ok())
        .unwrap_or(LevelFilter::INFO);
    let libraries = level.min(LevelFilter::DEBUG);
    let mut filter = Targets::new().with_default(level);
    for target in [
        "lambda_runtime",
        "lambda_runtime_api_client",
        "aws_smithy_runtime",
        "aws_smithy_http_client",
        "aws_config",
        "aws_sdk_sqs",
        "aws_sdk_secretsmanager",
        "aws_sdk_s3",
        "hyper",
        "hyper_util",
        "h2",
        "rustls",
    ] {
        filter = filter.with_target(target, libraries);
    }
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false).without_time().with_writer(std::io::stdout);
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(fmt.json().flatten_event(true).with_current_span(false).with_span_list(false)).init();
    } else {
        registry.with(fmt).init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn http_api_v2() {
        let r = decode_event(json!({
            "version": "2.0",
            "requestContext": {"http": {"method": "POST"}},
            "headers": {"X-GitHub-Event": "push", "content-type": "application/json"},
            "body": "{}",
            "isBase64Encoded": false
        }))
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.header_once("x-github-event"), Ok(Some("push")));
        assert_eq!(r.body, b"{}");
    }

    #[test]
    fn rest_api_v1_keeps_repeated_headers() {
        let r = decode_event(json!({
            "httpMethod": "POST",
            "headers": {"X-Gitlab-Token": "b"},
            "multiValueHeaders": {"X-Gitlab-Token": ["a", "b"], "x-gitlab-event": ["Push Hook"]},
            "body": null,
            "isBase64Encoded": false
        }))
        .unwrap();
        assert_eq!(r.headers.get_all("x-gitlab-token").iter().count(), 2);
        assert!(r.body.is_empty());
    }

    #[test]
    fn base64_bodies() {
        let ok = decode_event(json!({"httpMethod": "POST", "body": "aGk=", "isBase64Encoded": true})).unwrap();
        assert_eq!(ok.body, b"hi");
        let bad = decode_event(json!({"httpMethod": "POST", "body": "%%%", "isBase64Encoded": true}));
        assert_eq!(bad.unwrap_err().status(), 400);
    }

    #[test]
    fn header_floods_are_400_not_a_panic() {
        let many: serde_json::Map<String, serde_json::Value> =
            (0..30_000).map(|i| (format!("x-h{i}"), json!("v"))).collect();
        let e = json!({"requestContext": {"http": {"method": "POST"}}, "headers": many});
        assert_eq!(decode_event(e).unwrap_err().status(), 400);
    }

    #[test]
    fn malformed_events_are_400() {
        for e in [
            json!([]),
            json!({"body": "x"}),
            json!({"httpMethod": 5}),
            json!({"httpMethod": "POST", "headers": {"bad name": "v"}}),
        ] {
            assert_eq!(decode_event(e.clone()).unwrap_err().status(), 400, "{e}");
        }
    }
}
