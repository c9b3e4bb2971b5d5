//! CloudWatch metrics as Embedded Metric Format lines on stdout: Lambda ships stdout to
//! CloudWatch Logs, which turns these lines into metrics with no API call on the hot path.

use serde_json::json;

pub const NAMESPACE: &str = "WebhookIntake";

/// What one delivery contributes to the metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryMetrics<'a> {
    pub provider: &'a str,
    /// `Outcome::label()`.
    pub outcome: &'a str,
    /// The credential was missing, malformed or matched no secret (401/403).
    pub verification_failed: bool,
    pub secrets_manager_calls: u64,
    /// Time spent handing the delivery to SQS (and S3), when it was forwarded.
    pub forward_latency_ms: Option<f64>,
}

/// One EMF document: counts by provider and outcome, and by provider alone.
pub fn emf_line(m: &DeliveryMetrics, timestamp_ms: u128) -> String {
    let mut metrics = vec![
        json!({"Name": "Deliveries", "Unit": "Count"}),
        json!({"Name": "VerificationFailures", "Unit": "Count"}),
        json!({"Name": "SecretsManagerCalls", "Unit": "Count"}),
    ];
    let mut doc = json!({
        "Provider": m.provider,
        "Outcome": m.outcome,
        "Deliveries": 1,
        "VerificationFailures": u8::from(m.verification_failed),
        "SecretsManagerCalls": m.secrets_manager_calls,
    });
    if let Some(latency) = m.forward_latency_ms {
        metrics.push(json!({"Name": "ForwardLatency", "Unit": "Milliseconds"}));
        doc["ForwardLatency"] = json!(latency);
    }
    doc["_aws"] = json!({
        "Timestamp": timestamp_ms as u64,
        "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [["Provider", "Outcome"], ["Provider"]],
            "Metrics": metrics,
        }],
    });
    doc.to_string()
}

/// Writes the line to stdout in one call, so it never interleaves with a log line.
pub fn emit(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(format!("{line}\n").as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_shape() {
        let m = DeliveryMetrics {
            provider: "github",
            outcome: "accepted",
            verification_failed: false,
            secrets_manager_calls: 1,
            forward_latency_ms: Some(3.5),
        };
        let v: serde_json::Value = serde_json::from_str(&emf_line(&m, 1_796_212_800_000)).unwrap();
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 1_796_212_800_000u64);
        assert_eq!(cw["Namespace"], NAMESPACE);
        assert_eq!(cw["Dimensions"], json!([["Provider", "Outcome"], ["Provider"]]));
        // Every metric named in the directive has a value, and every dimension too.
        for metric in cw["Metrics"].as_array().unwrap() {
            assert!(v[metric["Name"].as_str().unwrap()].is_number(), "{metric}");
        }
        assert_eq!((v["Provider"].as_str(), v["Outcome"].as_str()), (Some("github"), Some("accepted")));
        assert_eq!(v["ForwardLatency"], 3.5);
        let refused =
            DeliveryMetrics { outcome: "forbidden", verification_failed: true, forward_latency_ms: None, ..m };
        let v: serde_json::Value = serde_json::from_str(&emf_line(&refused, 0)).unwrap();
        assert_eq!(v["VerificationFailures"], 1);
        assert!(v.get("ForwardLatency").is_none());
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(), 3);
    }
}
