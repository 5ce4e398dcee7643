//! Failover with teeth: two gateway nodes, the leader killed under a mixed read/write load and
//! brought back later. Judged from the gateway's request log and the table itself:
//!
//! * every write the client saw acknowledged is in the table, and no write applied twice
//!   (each write is an `ADD c :1` on its own key, so a double apply leaves `c = 2`);
//! * no read fails;
//! * a write fails only if it was in flight on the killed node (started before the kill, its
//!   one request in the log on that node and dropped, or lost with the node unread; never
//!   retried), and writes started two `endpoints` refreshes after the kill all succeed;
//! * the node, once back, serves requests again.
#![allow(clippy::disallowed_methods)] // real load over real time

mod support;

mod timing {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
    use cross_account_dynamodb::dax::codec::Method;
    use cross_account_dynamodb::dax::gateway::Outcome;
    use cross_account_dynamodb::dax::transport::DaxError;
    use cross_account_dynamodb::DaxOptions;

    use super::support::{dax_client, unique_name, Stack};

    const REFRESH: Duration = Duration::from_millis(500);

    #[derive(Debug)]
    struct Write {
        key: String,
        started: SystemTime,
        result: Result<(), String>,
        outcome_unknown: bool,
    }

    fn is_outcome_unknown(e: &(dyn std::error::Error + 'static)) -> bool {
        let mut cur = Some(e);
        while let Some(c) = cur {
            if c.downcast_ref::<DaxError>()
                .is_some_and(DaxError::is_outcome_unknown)
            {
                return true;
            }
            cur = c.source();
        }
        false
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_leader_dies_under_load_and_comes_back() {
        let stack = Stack::shared();
        let creds = dax_client::assume_role(stack, "dax-failover").await;
        let gw = dax_client::verified_gateway(stack, 2, None).await;
        assert_eq!(gw.leader(), Some(0));
        let dax = creds
            .dax_with(
                gw.endpoint(),
                DaxOptions::new()
                    .refresh_interval(REFRESH)
                    .health_check_interval(REFRESH)
                    .connect_timeout(Duration::from_secs(1))
                    .request_timeout(Duration::from_secs(5)),
            )
            .unwrap();
        let table = unique_name("daxfo");
        dax_client::create_table(&dax, &table, ("pk", ScalarAttributeType::S), None).await;
        dax.put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("seed".into()))
            .send()
            .await
            .unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(Mutex::new(Vec::<Write>::new()));
        let read_failures = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut tasks = Vec::new();
        for w in 0..3 {
            let (dax, stop, writes, table) =
                (dax.clone(), stop.clone(), writes.clone(), table.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let key = format!("w{w}-{i}");
                    let started = SystemTime::now();
                    let r = dax
                        .update_item()
                        .table_name(&table)
                        .key("pk", AttributeValue::S(key.clone()))
                        .update_expression("ADD c :one")
                        .expression_attribute_values(":one", AttributeValue::N("1".into()))
                        .send()
                        .await;
                    let outcome_unknown = r.as_ref().err().is_some_and(|e| is_outcome_unknown(e));
                    writes.lock().unwrap().push(Write {
                        key,
                        started,
                        result: r.map(|_| ()).map_err(|e| format!("{e:?}")),
                        outcome_unknown,
                    });
                }
            }));
        }
        for _ in 0..2 {
            let (dax, stop, fails, table) = (
                dax.clone(),
                stop.clone(),
                read_failures.clone(),
                table.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = dax
                        .get_item()
                        .table_name(&table)
                        .key("pk", AttributeValue::S("seed".into()))
                        .send()
                        .await;
                    match r {
                        Ok(o) if o.item().is_some() => {}
                        Ok(_) => fails.lock().unwrap().push("seed item missing".into()),
                        Err(e) => fails.lock().unwrap().push(format!("{e:?}")),
                    }
                }
            }));
        }

        tokio::time::sleep(Duration::from_secs(1)).await;
        let killed_at = SystemTime::now();
        gw.kill_node(0).unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let restarted_at = SystemTime::now();
        gw.restart_node(0).unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }

        let writes = std::mem::take(&mut *writes.lock().unwrap());
        let read_failures = read_failures.lock().unwrap().clone();
        let log = gw.request_log();
        let updates: Vec<_> = log
            .iter()
            .filter(|r| r.method == Method::UpdateItem)
            .collect();
        let key_of = |r: &cross_account_dynamodb::dax::gateway::RequestRecord| {
            r.keys
                .first()
                .and_then(|k| k.get("pk"))
                .and_then(|v| v.as_s().ok())
                .cloned()
        };
        let mut attempts: HashMap<String, Vec<_>> = HashMap::new();
        for r in &updates {
            if let Some(k) = key_of(r) {
                attempts.entry(k).or_default().push(*r);
            }
        }
        let mut histogram: HashMap<usize, usize> = HashMap::new();
        for w in &writes {
            *histogram
                .entry(attempts.get(&w.key).map_or(0, Vec::len))
                .or_default() += 1;
        }
        let failed: Vec<&Write> = writes.iter().filter(|w| w.result.is_err()).collect();
        eprintln!(
            "{} writes ({} failed), attempts per write at the gateway {:?}, {} read failures, \
             requests on node 0 after its restart: {}",
            writes.len(),
            failed.len(),
            histogram,
            read_failures.len(),
            log.iter()
                .filter(|r| r.node() == Some(0) && r.at > restarted_at)
                .count()
        );
        assert!(writes.len() > 50, "too little load: {}", writes.len());
        assert!(read_failures.is_empty(), "reads failed: {read_failures:?}");

        // The table: acknowledged writes applied once, failed writes at most once.
        let http = creds.dynamodb();
        for w in &writes {
            let got = http
                .get_item()
                .table_name(&table)
                .key("pk", AttributeValue::S(w.key.clone()))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            let c = got
                .item()
                .and_then(|i| i.get("c"))
                .map(|v| v.as_n().unwrap().clone());
            match &w.result {
                Ok(()) => assert_eq!(
                    c.as_deref(),
                    Some("1"),
                    "acknowledged write {} reads {c:?}",
                    w.key
                ),
                Err(_) => assert!(
                    matches!(c.as_deref(), None | Some("1")),
                    "failed write {} applied twice: {c:?}",
                    w.key
                ),
            }
        }

        // A write failed only if it was in flight on the killed node, and was not retried.
        for w in &failed {
            assert!(
                w.outcome_unknown,
                "{} failed otherwise: {:?}",
                w.key, w.result
            );
            // At most one attempt reached a node: the killed one, which never answered (a
            // request written just as the node died may never have been read: no record).
            let tries = attempts.get(&w.key).cloned().unwrap_or_default();
            assert!(tries.len() <= 1, "{}: {tries:?}", w.key);
            for t in &tries {
                assert_eq!(t.node(), Some(0), "{}: {tries:?}", w.key);
                assert!(
                    matches!(t.outcome, Outcome::Dropped | Outcome::InFlight),
                    "{}: {tries:?}",
                    w.key
                );
            }
            assert!(
                w.started <= killed_at + Duration::from_millis(100),
                "{} started after the kill",
                w.key
            );
        }
        // Writes succeed again within two refreshes of the kill.
        let recovered = killed_at + 2 * REFRESH;
        assert!(writes
            .iter()
            .filter(|w| w.started >= recovered)
            .all(|w| w.result.is_ok()));
        assert!(writes.iter().any(|w| w.started >= recovered));
        // The node that came back is used again.
        assert!(log
            .iter()
            .any(|r| r.node() == Some(0) && r.at > restarted_at && r.outcome.is_ok()));

        dax.delete_table().table_name(&table).send().await.unwrap();
        gw.shutdown().await;
    }
}
