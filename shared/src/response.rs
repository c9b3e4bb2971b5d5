//! Every way a delivery can end, and the one function that turns it into a response.
//!
//! Messages are static strings: a response can never echo a secret, token, signature or
//! payload content. 401 and 403 are kept apart on purpose: 401 means the request is not
//! even shaped like a delivery, 403 that it names no record or matches no secret (the same
//! body for both, so tenants cannot be enumerated).

use crate::http::HttpResponse;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Verified and the queue accepted the message.
    Accepted {
        delivery_id: String,
    },
    /// A verified ping.
    Pong,
    /// Verified, but not an event this intake forwards (a 4xx would make GitLab disable the hook).
    Ignored {
        event: String,
    },
    BadRequest(&'static str),
    Unauthorized(&'static str),
    Forbidden,
    MethodNotAllowed,
    TooLarge,
    UnsupportedMediaType(&'static str),
    /// Secrets Manager or SQS failed; the source host should retry.
    Unavailable(&'static str),
}

pub const FORBIDDEN_MESSAGE: &str = "signature or token does not match any secret for this webhook";

/// Seconds a source host is asked to wait before retrying a 503.
pub const RETRY_AFTER_SECONDS: u32 = 5;

impl Outcome {
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Accepted { .. } => 202,
            Outcome::Pong | Outcome::Ignored { .. } => 200,
            Outcome::BadRequest(_) => 400,
            Outcome::Unauthorized(_) => 401,
            Outcome::Forbidden => 403,
            Outcome::MethodNotAllowed => 405,
            Outcome::TooLarge => 413,
            Outcome::UnsupportedMediaType(_) => 415,
            Outcome::Unavailable(_) => 503,
        }
    }

    /// Short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Pong => "pong",
            Outcome::Ignored { .. } => "ignored",
            Outcome::BadRequest(_) => "bad_request",
            Outcome::Unauthorized(_) => "unauthorized",
            Outcome::Forbidden => "forbidden",
            Outcome::MethodNotAllowed => "method_not_allowed",
            Outcome::TooLarge => "too_large",
            Outcome::UnsupportedMediaType(_) => "unsupported_media_type",
            Outcome::Unavailable(_) => "unavailable",
        }
    }

    pub fn response(&self) -> HttpResponse {
        use serde_json::json;
        let body = match self {
            Outcome::Accepted { delivery_id } => json!({"status": "accepted", "delivery_id": delivery_id}),
            Outcome::Pong => json!({"status": "pong"}),
            Outcome::Ignored { event } => json!({"status": "ignored", "event": event}),
            Outcome::BadRequest(m) | Outcome::Unauthorized(m) | Outcome::UnsupportedMediaType(m) => json!({"error": m}),
            Outcome::Forbidden => json!({"error": FORBIDDEN_MESSAGE}),
            Outcome::MethodNotAllowed => json!({"error": "only POST is accepted"}),
            Outcome::TooLarge => json!({"error": "body exceeds the maximum accepted size"}),
            Outcome::Unavailable(m) => json!({"error": m, "retryable": true}),
        };
        let mut headers = vec![("content-type", "application/json".to_owned())];
        match self {
            Outcome::MethodNotAllowed => headers.push(("allow", "POST".to_owned())),
            Outcome::Unavailable(_) => headers.push(("retry-after", RETRY_AFTER_SECONDS.to_string())),
            _ => {}
        }
        HttpResponse { status: self.status(), headers, body: body.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_bodies() {
        let r = Outcome::Accepted { delivery_id: "abc".into() }.response();
        assert_eq!((r.status, r.body.as_str()), (202, r#"{"delivery_id":"abc","status":"accepted"}"#));
        assert_eq!(Outcome::Pong.response().body, r#"{"status":"pong"}"#);
        let r = Outcome::Unavailable("queue unavailable").response();
        assert_eq!(r.status, 503);
        assert!(r.headers.contains(&("retry-after", "5".into())));
        assert!(Outcome::MethodNotAllowed.response().headers.contains(&("allow", "POST".into())));
        for o in [Outcome::Forbidden, Outcome::TooLarge, Outcome::Unauthorized("x"), Outcome::BadRequest("y")] {
            let v: serde_json::Value = serde_json::from_str(&o.response().body).unwrap();
            assert!(v["error"].is_string(), "{o:?}");
        }
    }
}
