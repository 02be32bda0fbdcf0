//! One load of the health keys: `health:current` alone (on a query's path: it carries a copy
//! of the overrides) or with `health:overrides` (in the background: the overrides key is the
//! truth and replaces the copy). Both reads are in flight together; the load is done when
//! every one of them has come back.

use crate::health::{overrides_from_json, HealthSnapshot, HEALTH_KEY, OVERRIDES_KEY};

use super::{ReadId, ReadResult};

/// The health reads in flight and what has come back so far.
#[derive(Debug)]
pub(super) struct HealthLoad {
    pub(super) started: u64,
    pub(super) current: ReadId,
    pub(super) overrides: Option<ReadId>,
    current_result: Option<ReadResult>,
    overrides_result: Option<ReadResult>,
}

impl HealthLoad {
    pub(super) fn new(started: u64, current: ReadId, overrides: Option<ReadId>) -> Self {
        Self { started, current, overrides, current_result: None, overrides_result: None }
    }

    /// The ids of the reads of this load.
    pub(super) fn ids(&self) -> Vec<ReadId> {
        std::iter::once(self.current).chain(self.overrides).collect()
    }

    /// Takes one read's result; `Some` once every read has come back: the snapshot, or why
    /// it cannot be used (the isolate then keeps what it has).
    pub(super) fn take(&mut self, id: ReadId, result: ReadResult) -> Option<Result<HealthSnapshot, String>> {
        if id == self.current {
            self.current_result = Some(result);
        } else if Some(id) == self.overrides {
            self.overrides_result = Some(result);
        }
        let current = self.current_result.as_ref()?;
        let overrides = match self.overrides {
            Some(_) => Some(self.overrides_result.as_ref()?),
            None => None,
        };
        Some(combine(current, overrides))
    }
}

/// The snapshot the two values make: a missing key is "nothing written yet".
fn combine(current: &ReadResult, overrides: Option<&ReadResult>) -> Result<HealthSnapshot, String> {
    let measured = match current {
        Ok(Some(bytes)) => HealthSnapshot::from_json(&String::from_utf8_lossy(bytes)).map_err(|error| format!("{HEALTH_KEY} is unreadable: {}", error.0))?,
        Ok(None) => HealthSnapshot::default(),
        Err(error) => return Err(format!("reading {HEALTH_KEY} failed: {error}")),
    };
    match overrides {
        None => Ok(measured),
        Some(Ok(Some(bytes))) => {
            let overrides = overrides_from_json(&String::from_utf8_lossy(bytes)).map_err(|error| format!("{OVERRIDES_KEY} is unreadable: {}", error.0))?;
            Ok(measured.with_overrides_replaced(overrides))
        }
        Some(Ok(None)) => Ok(measured.with_overrides_replaced(Default::default())),
        Some(Err(error)) => Err(format!("reading {OVERRIDES_KEY} failed: {error}")),
    }
}
