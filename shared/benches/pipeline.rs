//! The whole in-process pipeline (request → response, warm cache, recording queue) for a
//! 10 KB and a 1 MiB delivery, beside the verification alone.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use webhook_intake::verification::{verify_github, HubSignature};

#[path = "support.rs"]
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
