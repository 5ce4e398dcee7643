//! Credentials rotation under load, through the DAX gateway with the local stack verifying
//! every request's key (`AuthVerifier::KeyStore` over the stack's session keys): 20-second sessions of `ShortSessionRole`.
//!
//! With push re-authorization (the default), every connection re-authorizes with the new key
//! before its next request, so no request is ever rejected for an expired key. The negative
//! control switches the push off (as the official clients behave: periodic and error-driven
//! re-authorization only): every connection still holding the first key is rejected at least
//! once after that key expires.
#![allow(clippy::disallowed_methods)] // real sessions expire in real time

mod support;

mod timing {
    use std::collections::{BTreeSet, HashMap};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant, SystemTime};

    use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::interceptors::context::{
        BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    };
    use aws_smithy_runtime_api::client::interceptors::Intercept;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::config_bag::ConfigBag;
    use aws_smithy_types::date_time::{DateTime, Format};
    use cross_account_dynamodb::dax::gateway::{Outcome, RejectReason};
    use cross_account_dynamodb::{AssumedRoleCredentials, DaxGateway, DaxOptions};

    use super::support::{dax_client, unique_name, Stack};

    /// Counts operations and attempts (attempts − operations = the SDK's retries).
    #[derive(Debug, Default, Clone)]
    struct Attempts {
        operations: Arc<AtomicU64>,
        attempts: Arc<AtomicU64>,
    }

    impl Intercept for Attempts {
        fn name(&self) -> &'static str {
            "Attempts"
        }
        fn read_before_execution(
            &self,
            _: &BeforeSerializationInterceptorContextRef<'_>,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            self.operations.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        fn read_before_transmit(
            &self,
            _: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            self.attempts.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }

    struct Run {
        ok: u64,
        failed: u64,
        retries: u64,
        first_key: String,
        first_expiry: SystemTime,
        gw: DaxGateway,
    }

    /// Runs 4 tasks of PutItem + GetItem until `until(generation, first_expiry)` says stop.
    async fn run(push: bool, until: impl Fn(u64, SystemTime) -> bool) -> Run {
        let stack = Stack::shared();
        let creds = AssumedRoleCredentials::builder(stack.var("SHORT_SESSION_ROLE_ARN"))
            .session_name(unique_name("dax-rotation"))
            .configure(&stack.b_config().await)
            .build()
            .await
            .unwrap();
        let first = creds.credentials().await.unwrap();
        let first_key = first.access_key_id().to_owned();
        let first_expiry = first.expiry().unwrap();
        let gw = dax_client::verified_gateway(stack, 1, None).await;
        let attempts = Attempts::default();
        let config = creds
            .dax_config_with(gw.endpoint(), DaxOptions::new().push_reauth(push))
            .unwrap()
            .interceptor(attempts.clone())
            .build();
        let dax = aws_sdk_dynamodb::Client::from_conf(config);
        let table = unique_name("daxrot");
        dax_client::create_table(&dax, &table, ("pk", ScalarAttributeType::S), None).await;

        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (dax, ok, failed, stop, table) = (
                    dax.clone(),
                    ok.clone(),
                    failed.clone(),
                    stop.clone(),
                    table.clone(),
                );
                tokio::spawn(async move {
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let pk = AttributeValue::S(format!("w{w}-{}", i % 16));
                        let put = dax
                            .put_item()
                            .table_name(&table)
                            .item("pk", pk.clone())
                            .item("n", AttributeValue::N(i.to_string()))
                            .send()
                            .await;
                        let get = dax.get_item().table_name(&table).key("pk", pk).send().await;
                        for r in [
                            put.map(|_| ()).map_err(|e| format!("{e:?}")),
                            get.map(|_| ()).map_err(|e| format!("{e:?}")),
                        ] {
                            match r {
                                Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                                Err(e) => {
                                    eprintln!("worker {w}: {e}");
                                    failed.fetch_add(1, Ordering::Relaxed)
                                }
                            };
                        }
                    }
                })
            })
            .collect();

        let started = Instant::now();
        let rotations = creds.subscribe();
        while !until(rotations.borrow().generation, first_expiry) {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "no rotations: {:?}",
                creds.status()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.await.unwrap();
        }
        let ops = attempts.operations.load(Ordering::Relaxed);
        let tries = attempts.attempts.load(Ordering::Relaxed);
        dax.delete_table().table_name(&table).send().await.unwrap();
        Run {
            ok: ok.load(Ordering::Relaxed),
            failed: failed.load(Ordering::Relaxed),
            retries: tries.saturating_sub(ops),
            first_key,
            first_expiry,
            gw,
        }
    }

    fn expired_rejections(gw: &DaxGateway) -> usize {
        gw.request_log()
            .iter()
            .filter(|r| r.outcome == Outcome::Rejected(RejectReason::KeyExpired))
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rotations_under_load_are_pushed_to_every_connection() {
        // Generation 1 is the first session; stop after 3 rotations (and so after the first
        // key expired: rotations come ~10 s apart, sessions last 20 s).
        let r = run(true, |generation, first_expiry| {
            generation >= 4 && SystemTime::now() > first_expiry + Duration::from_secs(1)
        })
        .await;
        let log = r.gw.request_log();
        let keys: BTreeSet<_> =
            r.gw.auth_log()
                .iter()
                .map(|a| a.access_key_id.clone())
                .collect();
        eprintln!(
            "push on: {} ok, {} failed, {} client-side retries, {} requests at the gateway, {} keys used, \
             {} expired-key rejections",
            r.ok,
            r.failed,
            r.retries,
            log.len(),
            keys.len(),
            expired_rejections(&r.gw)
        );
        assert_eq!(r.failed, 0);
        assert!(r.ok > 100, "too little load: {}", r.ok);
        assert!(
            keys.len() >= 4,
            "the connections did not follow the rotations: {keys:?}"
        );
        assert_eq!(expired_rejections(&r.gw), 0);
        assert!(r.gw.auth_log().iter().all(|a| a.accepted()));
        // Requests signed with the first key stopped before it expired.
        assert!(log
            .iter()
            .filter(|q| q.access_key_id.as_deref() == Some(r.first_key.as_str()))
            .all(|q| q.at < r.first_expiry));
        r.gw.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_push_every_connection_is_rejected_after_the_first_expiry() {
        let r = run(false, |_, first_expiry| {
            SystemTime::now() > first_expiry + Duration::from_secs(3)
        })
        .await;
        let log = r.gw.request_log();
        // Connections that authorized with the first key and served a request after it expired.
        let first_key_conns: BTreeSet<u64> =
            r.gw.auth_log()
                .iter()
                .filter(|a| a.access_key_id == r.first_key)
                .map(|a| a.connection)
                .collect();
        let mut used_after: HashMap<u64, usize> = HashMap::new();
        for q in log
            .iter()
            .filter(|q| q.at >= r.first_expiry && first_key_conns.contains(&q.connection))
        {
            let e = used_after.entry(q.connection).or_default();
            if q.outcome == Outcome::Rejected(RejectReason::KeyExpired) {
                *e += 1;
            }
        }
        eprintln!(
            "push off: {} ok, {} failed, {} client-side retries, {} expired-key rejections on {} connections \
             (first expiry {})",
            r.ok,
            r.failed,
            r.retries,
            expired_rejections(&r.gw),
            used_after.len(),
            DateTime::from(r.first_expiry).fmt(Format::DateTime).unwrap()
        );
        assert!(
            !used_after.is_empty(),
            "no connection of the first key was used after it expired"
        );
        for (conn, rejected) in &used_after {
            assert!(
                *rejected >= 1,
                "connection {conn} was never rejected after the expiry"
            );
        }
        assert!(r.retries >= used_after.len() as u64);
        r.gw.shutdown().await;
    }
}
