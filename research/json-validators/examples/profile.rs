// Runs one validator many times over the 1 MiB push, for `perf record`.
#[path = "../../../shared/benches/support/mod.rs"]
mod support;
fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let body = support::push_payload(1 << 20);
    let (_, f) = json_validators::ALL.iter().find(|(n, _)| n.starts_with(&which)).expect("validator");
    for _ in 0..2000 {
        assert!(f(std::hint::black_box(&body)));
    }
}
