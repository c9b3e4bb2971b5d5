//! Nothing accepted is lost: thousands of mixed deliveries through the handlers, and every
//! 202 has exactly one message (or stored payload) while nothing else has any.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use integration_tests::*;
use sha2::{Digest, Sha256};
use webhook_intake::http::HttpRequest;
use webhook_intake::Provider;

const DEV: &str = "dev-webhook-secret";
const TOKEN: &str = "dev-gitlab-token";
const REPO: &str = "repository/186853002";
/// Deliveries are spread over several queues (tenants' stacks): moto's queue operations
/// slow down as one queue grows, which real SQS does not.
const QUEUES: usize = 8;
const PER_QUEUE: usize = 300;
const OVERSIZED_EVERY: usize = 150;

fn oversized(i: usize) -> String {
    let pad = "x".repeat(1100 * 1024);
    format!("{{\"ref\":\"refs/heads/big-{i}\",\"repository\":{{\"full_name\":\"o/big\"}},\"pad\":\"{pad}\"}}")
}

struct Bodies {
    push: Vec<u8>,
    gl_push: Vec<u8>,
    ping: Vec<u8>,
}

/// The i-th delivery: (provider, delivery id, request).
fn delivery(i: usize, b: &Bodies) -> (Provider, String, HttpRequest) {
    let id = format!("noloss-{i:05}");
    let gh = |event: &str, body: &[u8], secret: &str, id: &str| {
        Send { delivery_id: id, ..Send::github(event, body, secret, REPO) }.request()
    };
    if i % OVERSIZED_EVERY == 7 {
        return (Provider::GitHub, id.clone(), gh("push", oversized(i).as_bytes(), DEV, &id));
    }
    match i % 10 {
        0..=3 => (Provider::GitHub, id.clone(), gh("push", &b.push, DEV, &id)),
        4 | 5 => (
            Provider::GitLab,
            id.clone(),
            Send { delivery_id: &id, ..Send::gitlab("Push Hook", &b.gl_push, TOKEN) }.request(),
        ),
        // A redelivery of an earlier GUID: a standard queue takes it again, and that is a message too.
        6 => {
            let earlier = format!("noloss-{:05}", i - 6);
            (Provider::GitHub, earlier.clone(), gh("push", &b.push, DEV, &earlier))
        }
        7 => (Provider::GitHub, id.clone(), gh("push", &b.push, "forged", &id)),
        8 => (
            Provider::GitLab,
            id.clone(),
            Send { delivery_id: &id, ..Send::gitlab("Push Hook", b"{not json", TOKEN) }.request(),
        ),
        _ => (Provider::GitHub, id.clone(), gh(if i % 20 == 9 { "ping" } else { "star" }, &b.ping, DEV, &id)),
    }
}

/// One queue's share: returns (202s per delivery id, messages per delivery id, statuses, offloaded).
async fn run_queue(
    q: usize,
    bodies: Arc<Bodies>,
) -> (HashMap<String, usize>, HashMap<String, usize>, HashMap<u16, usize>, usize) {
    let stack = Stack::new(false).await;
    let github = Arc::new(stack.app(Provider::GitHub).await);
    let gitlab = Arc::new(stack.app(Provider::GitLab).await);
    let mut accepted: HashMap<String, usize> = HashMap::new();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    let indices: Vec<usize> = (q * PER_QUEUE..(q + 1) * PER_QUEUE).collect();
    for chunk in indices.chunks(8) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let (github, gitlab, bodies) = (github.clone(), gitlab.clone(), bodies.clone());
                tokio::spawn(async move {
                    let (provider, id, request) = delivery(i, &bodies);
                    let app = if provider == Provider::GitLab { gitlab } else { github };
                    (id, app.handle(&request).await.status)
                })
            })
            .collect();
        for task in tasks {
            let (id, status) = task.await.unwrap();
            *statuses.entry(status).or_default() += 1;
            if status == 202 {
                *accepted.entry(id).or_default() += 1;
            }
        }
    }
    let mut queued: HashMap<String, usize> = HashMap::new();
    let mut offloaded = 0;
    for m in stack.messages().await {
        let envelope = json(&m.body);
        let id = envelope["delivery_id"].as_str().unwrap().to_owned();
        if envelope["payload"].is_null() {
            let r = &envelope["payload_ref"];
            let (bytes, _) =
                stack.aws.get_object(r["bucket"].as_str().unwrap(), r["key"].as_str().unwrap()).await.unwrap();
            assert_eq!(r["sha256"], hex::encode(Sha256::digest(&bytes)), "{id}: stored payload differs");
            assert_eq!(r["bytes"], bytes.len());
            offloaded += 1;
        }
        *queued.entry(id).or_default() += 1;
    }
    (accepted, queued, statuses, offloaded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_202_is_exactly_one_message_and_nothing_else_is_queued() {
    let started = Instant::now();
    let bodies = Arc::new(Bodies {
        push: fixture("github/push.json"),
        gl_push: fixture("gitlab/push-event.json"),
        ping: fixture("github/ping.json"),
    });
    let (mut accepted, mut queued, mut statuses, mut offloaded) = (HashMap::new(), HashMap::new(), HashMap::new(), 0);
    // One queue at a time (8 deliveries in flight): moto serializes work anyway, and a
    // shallow backlog keeps every call far inside the SDK's timeouts on a slow machine.
    for q in 0..QUEUES {
        let (a, m, s, o) = run_queue(q, bodies.clone()).await;
        accepted.extend(a);
        queued.extend(m);
        for (status, n) in s {
            *statuses.entry(status).or_insert(0) += n;
        }
        offloaded += o;
    }
    let total = QUEUES * PER_QUEUE;
    println!(
        "{total} deliveries over {QUEUES} queues in {:?}: statuses {statuses:?}; {} messages, {offloaded} offloaded",
        started.elapsed(),
        queued.values().sum::<usize>()
    );
    let mut wrong: Vec<_> = accepted
        .keys()
        .chain(queued.keys())
        .filter(|id| accepted.get(*id) != queued.get(*id))
        .map(|id| format!("{id}: {:?} x 202, {:?} messages", accepted.get(id), queued.get(id)))
        .collect();
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "{} delivery ids where 202s and messages differ: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    assert_eq!(
        offloaded,
        (0..total).filter(|i| i % OVERSIZED_EVERY == 7).count(),
        "every oversized delivery was offloaded"
    );
    assert!(statuses[&202] > total / 2, "most deliveries are valid: {statuses:?}");
    assert!(statuses[&403] > 0 && statuses[&400] > 0 && statuses[&200] > 0, "{statuses:?}");
    assert_eq!(statuses.get(&503), None, "moto stayed up: no delivery should be refused as unavailable");
}
