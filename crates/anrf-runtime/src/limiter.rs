//! Linear memory and table limits, with peak tracking.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::ResourceLimiter;

/// The trap that stops a guest growing past its memory or table limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GrowthRefused {
    #[error("linear memory growth to {desired} bytes refused (limit {limit} bytes)")]
    Memory { desired: u64, limit: u64 },
    #[error("table growth to {desired} elements refused (limit {limit} elements)")]
    Table { desired: u64, limit: u64 },
}

/// Enforces the memory and table limits of one store. Wasmtime asks it before
/// every growth, including the initial allocation at instantiation, so a module
/// declaring a huge initial memory is refused before it runs.
#[derive(Debug)]
pub(crate) struct Limiter {
    memory_limit: u64,
    table_limit: u64,
    memory_total: u64,
    table_total: u64,
    peak: Arc<AtomicU64>,
}

impl Limiter {
    pub(crate) fn new(memory_limit: u64, table_limit: u64, peak: Arc<AtomicU64>) -> Limiter {
        Limiter {
            memory_limit,
            table_limit,
            memory_total: 0,
            table_total: 0,
            peak,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = (desired as u64).saturating_sub(current as u64);
        let total = self.memory_total.saturating_add(growth);
        if total > self.memory_limit {
            return Err(GrowthRefused::Memory {
                desired: total,
                limit: self.memory_limit,
            }
            .into());
        }
        self.memory_total = total;
        self.peak.fetch_max(total, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = (desired as u64).saturating_sub(current as u64);
        let total = self.table_total.saturating_add(growth);
        if total > self.table_limit {
            return Err(GrowthRefused::Table {
                desired: total,
                limit: self.table_limit,
            }
            .into());
        }
        self.table_total = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_past_the_limit_is_refused_and_peak_is_kept() {
        let peak = Arc::new(AtomicU64::new(0));
        let mut limiter = Limiter::new(100, 10, peak.clone());
        assert!(limiter.memory_growing(0, 60, None).unwrap());
        assert!(limiter.memory_growing(60, 100, None).unwrap());
        let err = limiter.memory_growing(100, 101, None).unwrap_err();
        assert!(err.downcast_ref::<GrowthRefused>().is_some());
        assert_eq!(peak.load(Ordering::Relaxed), 100);
        assert!(limiter.table_growing(0, 10, None).unwrap());
        assert!(limiter.table_growing(10, 11, None).is_err());
    }

    /// Instantiates `wat` in a store governed by a [`Limiter`] (1 MiB, 100
    /// table elements).
    fn instantiate(wat: &str) -> wasmtime::Result<()> {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, wat::parse_str(wat)?)?;
        let limiter = Limiter::new(1 << 20, 100, Arc::new(AtomicU64::new(0)));
        let mut store = wasmtime::Store::new(&engine, limiter);
        store.limiter(|l| l);
        wasmtime::Instance::new(&mut store, &module, &[])?;
        Ok(())
    }

    fn tables(n: usize) -> String {
        format!("(module {})", "(table 1 funcref)".repeat(n))
    }

    #[test]
    fn a_guest_may_have_sixteen_tables_and_not_seventeen() {
        instantiate(&tables(16)).unwrap();
        let err = instantiate(&tables(17)).unwrap_err();
        assert!(format!("{err:?}").contains("table count"), "{err:?}");
    }

    #[test]
    fn a_guest_may_have_one_memory_and_one_instance() {
        instantiate("(module (memory 1))").unwrap();
        let err = instantiate("(module (memory 1) (memory 1))").unwrap_err();
        assert!(format!("{err:?}").contains("memory count"), "{err:?}");
    }
}
