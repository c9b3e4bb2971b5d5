//! Verification against 1 and 3 secrets beside plain SHA-256 over the same bytes, so the
//! ratio to the hash limit is read from one run.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sha2::{Digest, Sha256};
use webhook_intake::verification::{sign_github, verify_github, HubSignature};

const SIZES: [(&str, usize); 4] = [("1KB", 1000), ("64KB", 64 * 1024), ("1MiB", 1 << 20), ("6MiB", 6 << 20)];

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for (name, size) in SIZES {
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        if size > (1 << 20) {
            group.sample_size(20);
        }
        group.bench_with_input(BenchmarkId::new("sha256", name), &body, |b, body| {
            b.iter(|| Sha256::digest(std::hint::black_box(body)))
        });
        // The signature matches the last secret tried: the most work a delivery can cost.
        let one = ["current-secret"];
        let three = ["newest-secret", "other-secret", "current-secret"];
        let signature = HubSignature::parse(&sign_github(b"current-secret", &body)).unwrap();
        group.bench_with_input(BenchmarkId::new("hmac_1_secret", name), &body, |b, body| {
            b.iter(|| assert_eq!(verify_github(&signature, std::hint::black_box(body), &one), Some(0)))
        });
        group.bench_with_input(BenchmarkId::new("hmac_3_secrets", name), &body, |b, body| {
            b.iter(|| assert_eq!(verify_github(&signature, std::hint::black_box(body), &three), Some(2)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
