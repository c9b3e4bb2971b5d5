// The whole pipeline over the 1 MiB push many times, for `perf record`.
#[path = "../../../shared/benches/support/mod.rs"]
mod support;
fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let (app, _queue) = support::app(4 << 20);
    let request = support::request(support::push_payload(1 << 20));
    for _ in 0..2000 {
        assert_eq!(runtime.block_on(app.handle(std::hint::black_box(&request))).status, 202);
    }
}
