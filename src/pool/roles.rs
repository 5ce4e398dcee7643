//! The pool's roles: a sharded map from [`RoleSpec`] to the role's provider, so that a get at
//! 10,000 roles takes one shard's read lock (no whole-pool lock, no scan), with least recently
//! used eviction at the bound and idle eviction by the scheduler.
//!
//! A role dropped from the map while a client still holds its provider stays findable by a
//! `Weak` (a *released* entry): asked for again, it is re-adopted, never given a second
//! provider (two providers for one role would double its AssumeRole calls).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::RoleSpec;
use crate::credentials::Refresher;
use crate::{AssumedRoleCredentials, CredentialsStatus, Error};

/// Enough shards that 8–64 busy tasks rarely meet on one; few enough that a scan (eviction at
/// the bound, the idle sweep) stays cheap.
const SHARDS: usize = 64;

enum Slot {
    Held {
        credentials: AssumedRoleCredentials,
        /// Milliseconds since the Unix epoch (the injected clock), updated on every get.
        last_used: AtomicU64,
    },
    /// Dropped from the pool while a client still held it.
    Released(Weak<Refresher>),
}

type Shard = HashMap<RoleSpec, Slot>;

pub(super) struct Roles {
    shards: Box<[RwLock<Shard>]>,
    hasher: RandomState,
    held: AtomicUsize,
}

/// Milliseconds since the Unix epoch (0 before it).
pub(super) fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Marks a role used at `now_ms`, writing the shared stamp only when it moves on (most gets of
/// a busy role fall in the same millisecond and write nothing).
#[inline]
fn touch(last_used: &AtomicU64, now_ms: u64) {
    if last_used.load(Ordering::Relaxed) < now_ms {
        last_used.fetch_max(now_ms, Ordering::Relaxed);
    }
}

fn strong_elsewhere(credentials: &AssumedRoleCredentials) -> bool {
    Arc::strong_count(credentials.inner()) > 1
}

impl Roles {
    pub(super) fn new() -> Self {
        Roles {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            held: AtomicUsize::new(0),
        }
    }

    fn index(&self, spec: &RoleSpec) -> usize {
        (self.hasher.hash_one(spec) as usize) % SHARDS
    }

    fn read(&self, i: usize) -> RwLockReadGuard<'_, Shard> {
        self.shards[i].read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self, i: usize) -> RwLockWriteGuard<'_, Shard> {
        self.shards[i].write().unwrap_or_else(|e| e.into_inner())
    }

    /// How many roles the pool holds (released ones not counted).
    pub(super) fn len(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// The held role's provider, marked used at `now_ms`.
    #[inline]
    pub(super) fn get(&self, spec: &RoleSpec, now_ms: u64) -> Option<AssumedRoleCredentials> {
        match self.read(self.index(spec)).get(spec) {
            Some(Slot::Held {
                credentials,
                last_used,
            }) => {
                touch(last_used, now_ms);
                Some(credentials.clone())
            }
            _ => None,
        }
    }

    /// The role's provider: held, re-adopted if released and still alive, else made by `make`
    /// and added, dropping the least recently used roles beyond `max_roles`.
    pub(super) fn get_or_insert(
        &self,
        spec: RoleSpec,
        now_ms: u64,
        max_roles: usize,
        make: impl FnOnce(&RoleSpec) -> Result<AssumedRoleCredentials, Error>,
    ) -> Result<AssumedRoleCredentials, Error> {
        let i = self.index(&spec);
        let credentials = {
            let mut shard = self.write(i);
            let adopted = match shard.get(&spec) {
                Some(Slot::Held {
                    credentials,
                    last_used,
                }) => {
                    touch(last_used, now_ms);
                    return Ok(credentials.clone());
                }
                Some(Slot::Released(weak)) => weak.upgrade(),
                None => None,
            };
            let credentials = match adopted {
                Some(refresher) => {
                    tracing::debug!(
                        role_arn = %spec.role_arn(),
                        "re-adopting a role a client still held after the pool dropped it"
                    );
                    AssumedRoleCredentials::from_refresher(refresher)
                }
                None => make(&spec)?,
            };
            shard.insert(
                spec,
                Slot::Held {
                    credentials: credentials.clone(),
                    last_used: AtomicU64::new(now_ms),
                },
            );
            self.held.fetch_add(1, Ordering::Relaxed);
            crate::telemetry::pool::role_added();
            credentials
        };
        while self.len() > max_roles {
            if !self.evict_least_recently_used(&credentials) {
                break;
            }
        }
        Ok(credentials)
    }

    /// Drops the held role used least recently (other than `keep`). A scan, done only when a
    /// new role arrives at the bound.
    fn evict_least_recently_used(&self, keep: &AssumedRoleCredentials) -> bool {
        let mut oldest: Option<(u64, usize, RoleSpec)> = None;
        for i in 0..SHARDS {
            for (spec, slot) in self.read(i).iter() {
                if let Slot::Held {
                    credentials,
                    last_used,
                } = slot
                {
                    let used = last_used.load(Ordering::Relaxed);
                    if Arc::ptr_eq(credentials.inner(), keep.inner())
                        || oldest.as_ref().is_some_and(|(t, _, _)| *t <= used)
                    {
                        continue;
                    }
                    oldest = Some((used, i, spec.clone()));
                }
            }
        }
        let Some((_, i, spec)) = oldest else {
            return false;
        };
        tracing::debug!(role_arn = %spec.role_arn(), "pool full: dropping the least recently used role");
        self.release(&mut self.write(i), &spec);
        true
    }

    /// Drops a held role: removed, or kept as released while a client holds it.
    fn release(&self, shard: &mut Shard, spec: &RoleSpec) {
        let Some(Slot::Held { credentials, .. }) = shard.get(spec) else {
            return;
        };
        if strong_elsewhere(credentials) {
            let weak = Arc::downgrade(credentials.inner());
            shard.insert(spec.clone(), Slot::Released(weak));
        } else {
            shard.remove(spec);
        }
        self.held.fetch_sub(1, Ordering::Relaxed);
        crate::telemetry::pool::role_removed();
    }

    /// Drops the roles not asked for in more than `idle_timeout`, and forgets released roles
    /// no client holds any more. One shard at a time.
    pub(super) fn sweep(&self, now: SystemTime, idle_timeout: Duration) {
        let now_ms = millis(now);
        let idle_ms = u64::try_from(idle_timeout.as_millis()).unwrap_or(u64::MAX);
        for i in 0..SHARDS {
            let mut shard = self.write(i);
            let idle: Vec<RoleSpec> = shard
                .iter()
                .filter_map(|(spec, slot)| match slot {
                    Slot::Held { last_used, .. }
                        if now_ms.saturating_sub(last_used.load(Ordering::Relaxed)) > idle_ms =>
                    {
                        Some(spec.clone())
                    }
                    _ => None,
                })
                .collect();
            for spec in &idle {
                tracing::debug!(role_arn = %spec.role_arn(), "dropping idle role from the pool");
                self.release(&mut shard, spec);
            }
            shard.retain(|_, slot| match slot {
                Slot::Released(weak) => weak.strong_count() > 0,
                Slot::Held { .. } => true,
            });
        }
    }

    /// The status of the role's provider, held or released, without touching STS.
    pub(super) fn status(&self, spec: &RoleSpec) -> Option<CredentialsStatus> {
        match self.read(self.index(spec)).get(spec)? {
            Slot::Held { credentials, .. } => Some(credentials.status()),
            Slot::Released(weak) => weak.upgrade().map(|r| r.status()),
        }
    }

    /// The status of every held role.
    pub(super) fn statuses(&self) -> Vec<CredentialsStatus> {
        let mut all = Vec::with_capacity(self.len());
        for i in 0..SHARDS {
            for slot in self.read(i).values() {
                if let Slot::Held { credentials, .. } = slot {
                    all.push(credentials.status());
                }
            }
        }
        all
    }
}
