//! The whole in-process pipeline (request → response, warm cache, recording queue) for a
//! 10 KB and a 1 MiB delivery, beside the verification alone and the JSON validation alone
//! (the two things `handle` cannot skip; their sum is its floor).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde::de::IgnoredAny;
use webhook_intake::payload;
use webhook_intake::pipeline::MEMBERS;
use webhook_intake::verification::{verify_github, HubSignature};

mod support;

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    // The 1 MiB case measures the inline path, so the recorder takes messages that large.
    let (app, queue) = support::app(4 << 20);
    let mut group = c.benchmark_group("pipeline");
    for (name, size) in [("10KB", 10 * 1000), ("1MiB", 1 << 20)] {
        let request = support::request(support::push_payload(size));
        group.throughput(Throughput::Bytes(request.body.len() as u64));
        let signature = HubSignature::parse(request.headers["x-hub-signature-256"].to_str().unwrap()).unwrap();
        group.bench_with_input(BenchmarkId::new("hmac_only", name), &request, |b, r| {
            b.iter(|| assert_eq!(verify_github(&signature, std::hint::black_box(&r.body), &[support::SECRET]), Some(0)))
        });
        // What the pipeline must do beyond the HMAC, alone: strict validation (the floor under
        // `handle`), and serde_json's lenient skip of the same bytes for comparison.
        group.bench_with_input(BenchmarkId::new("validate_only", name), &request, |b, r| {
            b.iter(|| {
                let text = std::str::from_utf8(std::hint::black_box(&r.body)).unwrap();
                assert!(payload::top_level(text, MEMBERS).unwrap()[1].is_some())
            })
        });
        group.bench_with_input(BenchmarkId::new("lenient_skip", name), &request, |b, r| {
            b.iter(|| assert!(serde_json::from_slice::<IgnoredAny>(std::hint::black_box(&r.body)).is_ok()))
        });
        assert_eq!(runtime.block_on(app.handle(&request)).status, 202);
        group.bench_with_input(BenchmarkId::new("handle", name), &request, |b, r| {
            b.iter(|| assert_eq!(runtime.block_on(app.handle(std::hint::black_box(r))).status, 202))
        });
    }
    group.finish();
    assert!(queue.sent() > 0);
}

criterion_group!(benches, bench);
criterion_main!(benches);
