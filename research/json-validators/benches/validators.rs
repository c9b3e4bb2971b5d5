//! The HMAC of a 1 MiB push beside each validator over the same bytes, in one run: the
//! 1.2 × target leaves about 0.2 × the HMAC for everything else the pipeline does. Then the
//! HMAC and our validation in sequence and on two threads.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use webhook_intake::verification::{verify_github, HubSignature};

#[path = "../../../shared/benches/support/mod.rs"]
mod support;

fn bench(c: &mut Criterion) {
    let request = support::request(support::push_payload(1 << 20));
    let signature = HubSignature::parse(request.headers["x-hub-signature-256"].to_str().unwrap()).unwrap();
    let mut group = c.benchmark_group("1MiB");
    group.throughput(Throughput::Bytes(request.body.len() as u64));
    group.bench_function("hmac", |b| {
        b.iter(|| verify_github(&signature, std::hint::black_box(&request.body), &[support::SECRET]))
    });
    for (name, validate) in json_validators::ALL {
        assert!(validate(&request.body), "{name}");
        group.bench_with_input(BenchmarkId::new("validate", name), &request.body, |b, body| {
            b.iter(|| validate(std::hint::black_box(body)))
        });
    }
    // Validation on the second core while this one hashes, against one after the other.
    let hmac = || verify_github(&signature, std::hint::black_box(&request.body), &[support::SECRET]) == Some(0);
    group.bench_function("hmac_then_validate", |b| b.iter(|| hmac() && json_validators::ours(&request.body)));
    group.bench_function("hmac_beside_validate", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                let validated = s.spawn(|| json_validators::ours(&request.body));
                hmac() && validated.join().unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
