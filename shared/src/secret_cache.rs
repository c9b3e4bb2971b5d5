//! Secret records from Secrets Manager, cached per process.
//!
//! Warm deliveries make no Secrets Manager call. Concurrent misses for one key make one call
//! (moka serializes computes per key). A record that fails to verify a delivery and is older
//! than `revalidate_after` is fetched once more, so a just-rotated secret works without
//! waiting for the TTL. When Secrets Manager is down, records already held keep verifying
//! for `max_stale` past their TTL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::ops::compute::{CompResult, Op};
use tokio::time::Instant;

use crate::secret_record::{RecordError, SecretRecord};
use crate::BoxFuture;

/// Where records come from: Secrets Manager in production, a map in unit tests.
pub trait SecretStore: Send + Sync {
    /// The secret string stored under `secret_id`, or `None` when there is no such secret.
    fn fetch<'a>(&'a self, secret_id: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>>;
}

/// Secrets Manager could not answer (network, throttling, permissions).
#[derive(Clone, Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Why a lookup has no answer; both are answered with 503 and retried by the source host.
#[derive(Clone, Debug)]
pub enum LookupError {
    Store(StoreError),
    /// Too many lookups for keys not in cache: the flood guard refused to ask.
    Throttled,
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::Store(e) => write!(f, "secret store failed: {e}"),
            LookupError::Throttled => f.write_str("lookup budget for uncached keys exhausted"),
        }
    }
}

impl From<StoreError> for LookupError {
    fn from(e: StoreError) -> Self {
        LookupError::Store(e)
    }
}

/// How long what was read stays good.
#[derive(Clone, Copy, Debug)]
pub struct CachePolicy {
    pub ttl: Duration,
    pub negative_ttl: Duration,
    pub max_stale: Duration,
    /// A record refusing a delivery is re-read when older than this, at most this often.
    pub revalidate_after: Duration,
    /// After a failed fetch, held records are served without asking again for this long.
    pub retry_after_failure: Duration,
    pub max_entries: u64,
    /// Lookups per second allowed for keys not in cache (random keys must not become
    /// unbounded Secrets Manager calls), and the burst above that rate.
    pub miss_rate: f64,
    pub miss_burst: f64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(60),
            max_stale: Duration::from_secs(3600),
            revalidate_after: Duration::from_secs(30),
            retry_after_failure: Duration::from_secs(5),
            max_entries: 10_000,
            miss_rate: 20.0,
            miss_burst: 100.0,
        }
    }
}

/// What the store said about a key.
#[derive(Clone, Debug)]
pub enum Stored {
    Found(Arc<SecretRecord>),
    NotFound,
    Malformed(RecordError),
}

/// Where a lookup's answer came from (for logs and metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    Hit,
    Miss,
    Stale,
}

impl Freshness {
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Hit => "hit",
            Freshness::Miss => "miss",
            Freshness::Stale => "stale",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Lookup {
    pub stored: Stored,
    pub freshness: Freshness,
    fetched_at: Instant,
}

#[derive(Debug)]
struct Slot {
    stored: Stored,
    fetched_at: Instant,
    /// Last fetch attempt, successful or not.
    attempted_at: Instant,
}

impl Slot {
    fn ttl(&self, policy: &CachePolicy) -> Duration {
        match self.stored {
            Stored::Found(_) => policy.ttl,
            Stored::NotFound | Stored::Malformed(_) => policy.negative_ttl,
        }
    }

    fn fresh(&self, policy: &CachePolicy, now: Instant) -> bool {
        now.duration_since(self.fetched_at) < self.ttl(policy)
    }

    /// Past its TTL but still allowed to verify while the store is failing.
    fn servable_stale(&self, policy: &CachePolicy, now: Instant) -> bool {
        matches!(self.stored, Stored::Found(_)) && now.duration_since(self.fetched_at) < policy.ttl + policy.max_stale
    }

    fn recently_failed(&self, policy: &CachePolicy, now: Instant) -> bool {
        self.attempted_at > self.fetched_at && now.duration_since(self.attempted_at) < policy.retry_after_failure
    }
}

pub struct SecretCache {
    store: Arc<dyn SecretStore>,
    policy: CachePolicy,
    slots: moka::future::Cache<String, Arc<Slot>>,
    store_calls: AtomicU64,
    misses: Mutex<TokenBucket>,
}

/// A token bucket: `rate` tokens a second up to `burst`.
#[derive(Debug)]
struct TokenBucket {
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    fn take(&mut self, rate: f64, burst: f64, now: Instant) -> bool {
        self.tokens = (self.tokens + now.duration_since(self.updated).as_secs_f64() * rate).min(burst);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Clone, Copy)]
enum Want {
    /// Anything fresh will do.
    Fresh,
    /// Something fetched after this instant (a record just refused a delivery).
    NewerThan(Instant),
}

impl SecretCache {
    pub fn new(store: Arc<dyn SecretStore>, policy: CachePolicy) -> Self {
        let slots = moka::future::Cache::builder()
            .max_capacity(policy.max_entries)
            // Eviction only; freshness is decided by `Slot` so stale records survive outages.
            .time_to_live(policy.ttl.max(policy.negative_ttl) + policy.max_stale)
            .build();
        let misses = Mutex::new(TokenBucket { tokens: policy.miss_burst, updated: Instant::now() });
        SecretCache { store, policy, slots, store_calls: AtomicU64::new(0), misses }
    }

    pub fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    /// Secrets Manager calls made so far by this cache.
    pub fn store_calls(&self) -> u64 {
        self.store_calls.load(Ordering::Relaxed)
    }

    /// The record for `secret_id`, from cache when fresh.
    pub async fn get(&self, secret_id: &str) -> Result<Lookup, LookupError> {
        if let Some(slot) = self.slots.get(secret_id).await {
            if slot.fresh(&self.policy, Instant::now()) {
                return Ok(Lookup {
                    stored: slot.stored.clone(),
                    freshness: Freshness::Hit,
                    fetched_at: slot.fetched_at,
                });
            }
        }
        self.load(secret_id, Want::Fresh).await
    }

    /// Called when `seen` refused a delivery: a newer copy of the record if one may be read
    /// now (the record is older than `revalidate_after` and was not re-read in that time),
    /// `None` if it is too young to re-read, and an error if the store cannot be read now:
    /// then the refusal is not final (the secret may have rotated during an outage).
    pub async fn revalidate(&self, secret_id: &str, seen: &Lookup) -> Result<Option<Lookup>, LookupError> {
        let now = Instant::now();
        if now.duration_since(seen.fetched_at) < self.policy.revalidate_after {
            return Ok(None);
        }
        let lookup = self.load(secret_id, Want::NewerThan(seen.fetched_at)).await?;
        // A read that succeeded is newer than `seen`; no newer copy means the last read failed
        // and the held copy was kept.
        if lookup.fetched_at > seen.fetched_at {
            Ok(Some(lookup))
        } else {
            Err(StoreError("the record could not be re-read".into()).into())
        }
    }

    async fn load(&self, secret_id: &str, want: Want) -> Result<Lookup, LookupError> {
        let started = Instant::now();
        let policy = self.policy;
        let result = self
            .slots
            .entry_by_ref(secret_id)
            .and_try_compute_with(|existing| async move {
                let existing = existing.map(|e| e.into_value());
                let now = Instant::now();
                if let Some(slot) = &existing {
                    let satisfied = match want {
                        Want::Fresh => slot.fresh(&policy, now),
                        // Re-read at most every `revalidate_after`, or sooner after a failed
                        // read (its `attempted_at` is past its `fetched_at`), as `get` retries.
                        Want::NewerThan(t) => {
                            let pause = if slot.attempted_at > slot.fetched_at {
                                policy.retry_after_failure
                            } else {
                                policy.revalidate_after
                            };
                            slot.fetched_at > t || now.duration_since(slot.attempted_at) < pause
                        }
                    };
                    if satisfied || (slot.recently_failed(&policy, now) && slot.servable_stale(&policy, now)) {
                        return Ok(Op::Nop);
                    }
                }
                // Every read that is not a refresh of a record we hold draws on the budget,
                // so neither new random keys nor expired "not found" entries are free.
                let known = matches!(existing.as_deref().map(|slot| &slot.stored), Some(Stored::Found(_)));
                if !known && !self.misses.lock().expect("bucket lock").take(policy.miss_rate, policy.miss_burst, now) {
                    return Err(LookupError::Throttled);
                }
                self.store_calls.fetch_add(1, Ordering::Relaxed);
                match self.store.fetch(secret_id).await {
                    Ok(value) => {
                        let stored = match value {
                            None => Stored::NotFound,
                            Some(v) => match SecretRecord::parse(&v) {
                                Ok(record) => Stored::Found(Arc::new(record)),
                                Err(e) => Stored::Malformed(e),
                            },
                        };
                        let now = Instant::now();
                        Ok(Op::Put(Arc::new(Slot { stored, fetched_at: now, attempted_at: now })))
                    }
                    Err(e) => match existing {
                        Some(slot) if slot.servable_stale(&policy, now) => Ok(Op::Put(Arc::new(Slot {
                            stored: slot.stored.clone(),
                            fetched_at: slot.fetched_at,
                            attempted_at: now,
                        }))),
                        _ => Err(LookupError::Store(e)),
                    },
                }
            })
            .await?;
        let slot = match result {
            CompResult::Inserted(e) | CompResult::ReplacedWith(e) | CompResult::Unchanged(e) => e.into_value(),
            CompResult::Removed(_) | CompResult::StillNone(_) => {
                return Err(StoreError("secret cache lost its entry".into()).into());
            }
        };
        let freshness = if slot.fetched_at >= started {
            Freshness::Miss
        } else if slot.fresh(&policy, Instant::now()) {
            Freshness::Hit
        } else {
            Freshness::Stale
        };
        Ok(Lookup { stored: slot.stored.clone(), freshness, fetched_at: slot.fetched_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// In-memory store for cache logic only; integration tests use Secrets Manager on moto.
    #[derive(Default)]
    struct MapStore {
        values: Mutex<HashMap<String, String>>,
        down: Mutex<bool>,
        calls: AtomicU64,
    }

    impl SecretStore for MapStore {
        fn fetch<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, StoreError>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                if *self.down.lock().unwrap() {
                    return Err(StoreError("down".into()));
                }
                Ok(self.values.lock().unwrap().get(id).cloned())
            })
        }
    }

    fn setup() -> (Arc<MapStore>, SecretCache) {
        let store = Arc::new(MapStore::default());
        store.values.lock().unwrap().insert("k".into(), r#"{"secrets":["a"]}"#.into());
        let cache = SecretCache::new(store.clone(), CachePolicy::default());
        (store, cache)
    }

    fn secrets(l: &Lookup) -> Vec<String> {
        match &l.stored {
            Stored::Found(r) => r.secrets().to_vec(),
            other => panic!("expected a record, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn warm_path_makes_no_call() {
        let (store, cache) = setup();
        assert_eq!(cache.get("k").await.unwrap().freshness, Freshness::Miss);
        for _ in 0..10 {
            assert_eq!(cache.get("k").await.unwrap().freshness, Freshness::Hit);
        }
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(301)).await;
        assert_eq!(cache.get("k").await.unwrap().freshness, Freshness::Miss);
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn not_found_is_cached_for_the_negative_ttl() {
        let (store, cache) = setup();
        assert!(matches!(cache.get("nope").await.unwrap().stored, Stored::NotFound));
        assert!(matches!(cache.get("nope").await.unwrap().stored, Stored::NotFound));
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        cache.get("nope").await.unwrap();
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_make_one_call() {
        let (store, cache) = setup();
        let cache = Arc::new(cache);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.get("k").await.unwrap() })
            })
            .collect();
        for t in tasks {
            assert_eq!(secrets(&t.await.unwrap()), ["a"]);
        }
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn revalidate_only_after_the_window() {
        let (store, cache) = setup();
        let first = cache.get("k").await.unwrap();
        store.values.lock().unwrap().insert("k".into(), r#"{"secrets":["b","a"]}"#.into());
        assert!(cache.revalidate("k", &first).await.unwrap().is_none(), "too young to re-read");
        tokio::time::advance(Duration::from_secs(31)).await;
        let newer = cache.revalidate("k", &first).await.unwrap().expect("re-read");
        assert_eq!(secrets(&newer), ["b", "a"]);
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
        // A second refusal right after does not read again.
        assert!(cache.revalidate("k", &newer).await.unwrap().is_none());
        assert!(cache.revalidate("k", &first).await.unwrap().is_some(), "the newer copy is handed out");
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn revalidation_during_an_outage_is_an_error_not_a_verdict() {
        let (store, cache) = setup();
        let first = cache.get("k").await.unwrap();
        *store.down.lock().unwrap() = true;
        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(matches!(cache.revalidate("k", &first).await, Err(LookupError::Store(_))), "the read failed");
        // Within the retry pause no second read is made, and the answer is still "unknown".
        assert!(matches!(cache.revalidate("k", &first).await, Err(LookupError::Store(_))));
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
        assert_eq!(secrets(&cache.get("k").await.unwrap()), ["a"], "the held copy still serves");
        *store.down.lock().unwrap() = false;
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(cache.revalidate("k", &first).await.unwrap().is_some(), "read again soon after the store is back");
        assert_eq!(store.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn uncached_key_floods_are_capped() {
        let store = Arc::new(MapStore::default());
        let policy = CachePolicy { miss_rate: 2.0, miss_burst: 5.0, ..CachePolicy::default() };
        let cache = SecretCache::new(store.clone(), policy);
        let mut throttled = 0;
        for i in 0..50 {
            match cache.get(&format!("random-{i}")).await {
                Err(LookupError::Throttled) => throttled += 1,
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
        // 5 of burst plus what refilled during the 10 ms store latency of each call.
        let calls = store.calls.load(Ordering::SeqCst);
        assert!((5..=6).contains(&calls), "{calls} store calls");
        assert_eq!(throttled, 50 - calls);
        // Known keys are not throttled: a cached key keeps answering.
        cache.get("random-0").await.unwrap();
        assert!(cache.get("random-0").await.is_ok());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache.get("random-new").await.is_ok(), "the bucket refills");
    }

    #[tokio::test(start_paused = true)]
    async fn expired_negatives_draw_on_the_budget_but_known_records_refresh_freely() {
        let (store, _) = setup();
        let policy = CachePolicy { miss_rate: 0.0001, miss_burst: 4.0, ..CachePolicy::default() };
        let cache = SecretCache::new(store.clone(), policy);
        cache.get("k").await.unwrap();
        for key in ["a", "b", "c"] {
            assert!(matches!(cache.get(key).await.unwrap().stored, Stored::NotFound));
        }
        tokio::time::advance(Duration::from_secs(301)).await;
        assert_eq!(cache.get("k").await.unwrap().freshness, Freshness::Miss, "a held record refreshes");
        assert!(matches!(cache.get("a").await, Err(LookupError::Throttled)), "an expired negative is not free");
        assert_eq!(store.calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn stale_records_serve_while_the_store_is_down() {
        let (store, cache) = setup();
        cache.get("k").await.unwrap();
        *store.down.lock().unwrap() = true;
        tokio::time::advance(Duration::from_secs(400)).await;
        let l = cache.get("k").await.unwrap();
        assert_eq!((l.freshness, secrets(&l)), (Freshness::Stale, vec!["a".to_string()]));
        // Within the retry pause no further call is made.
        cache.get("k").await.unwrap();
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
        assert!(cache.get("never-seen").await.is_err());
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(cache.get("k").await.is_err(), "past max_stale the record is no longer trusted");
        *store.down.lock().unwrap() = false;
        assert_eq!(cache.get("k").await.unwrap().freshness, Freshness::Miss);
    }
}
