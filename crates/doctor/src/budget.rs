//! The run's time budget: the injected clock and sleep (never the system's directly).

use std::future::Future;
use std::time::{Duration, SystemTime};

use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::SharedTimeSource;
use futures_util::future::Either;

/// The deadline of a run and the means to race a step against it.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    pub(crate) time: SharedTimeSource,
    sleep: SharedAsyncSleep,
    deadline: SystemTime,
}

impl Budget {
    pub(crate) fn new(time: SharedTimeSource, sleep: SharedAsyncSleep, total: Duration) -> Self {
        let deadline = time.now() + total;
        Budget {
            time,
            sleep,
            deadline,
        }
    }

    /// What is left of the run.
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline
            .duration_since(self.time.now())
            .unwrap_or(Duration::ZERO)
    }

    /// Runs `f` for at most `max` (cut to what is left of the run). `Err(limit)` when it did
    /// not finish in time.
    pub(crate) async fn limit<F: Future>(
        &self,
        max: Duration,
        f: F,
    ) -> Result<F::Output, Duration> {
        let limit = max.min(self.remaining());
        if limit.is_zero() {
            return Err(limit);
        }
        let f = std::pin::pin!(f);
        match futures_util::future::select(f, self.sleep.sleep(limit)).await {
            Either::Left((v, _)) => Ok(v),
            Either::Right(_) => Err(limit),
        }
    }
}

/// `1.5 s`, `2 s`.
pub(crate) fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
