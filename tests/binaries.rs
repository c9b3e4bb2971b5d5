//! Each compiled function binary, driven through a local Lambda Runtime API.

use std::process::Stdio;

use integration_tests::*;
use webhook_dev::runtime_api::{FunctionProcess, Reply};
use webhook_intake::lambda::ProxyResponse;
use webhook_intake::Provider;

#[tokio::test(flavor = "multi_thread")]
async fn each_binary_answers_every_sample_event() {
    let stack = Stack::new(false).await;
    let manifest = manifest();
    let mut accepted = 0;
    for provider in Provider::ALL {
        let binary = binary(&format!("{}-webhook", provider.name()));
        let mut function = FunctionProcess::spawn(&binary, &stack.env(), false).await.unwrap();
        for spec in manifest.events.iter().filter(|s| s.provider().unwrap() == provider) {
            let event = std::fs::read(spec.path(&root())).unwrap();
            let Reply::Response(bytes) = function.invoke(event).await.unwrap() else {
                panic!("{}: the function reported an error", spec.file);
            };
            let response: ProxyResponse = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(response.status_code, spec.expect, "{}: {}", spec.file, response.body);
            assert_eq!(response.headers["content-type"], "application/json");
            accepted += usize::from(response.status_code == 202);
        }
        // A malformed event is answered, not crashed on, and the process keeps serving.
        let Reply::Response(bytes) =
            function.invoke(br#"{"httpMethod":"POST","body":"%%%","isBase64Encoded":true}"#.to_vec()).await.unwrap()
        else {
            panic!("invalid base64 crashed the invocation");
        };
        assert_eq!(serde_json::from_slice::<ProxyResponse>(&bytes).unwrap().status_code, 400);
    }
    assert_eq!(stack.messages().await.len(), accepted);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_configuration_stops_start_up_with_one_clear_line() {
    for (queue_url, needle) in [("", "QUEUE_URL is required"), ("not-a-url", "QUEUE_URL must be an http(s) URL")] {
        let output = tokio::process::Command::new(binary("github-webhook"))
            .env("QUEUE_URL", queue_url)
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .env("AWS_LAMBDA_FUNCTION_NAME", "github-webhook")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert!(!output.status.success());
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains(needle), "{text}");
    }
}
