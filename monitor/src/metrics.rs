//! Prometheus metrics of a running monitor: entries processed, the verified
//! tree size, the log's size (their difference is the lag) and alerts by
//! rule. Registered on a registry the monitor owns (no globals).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::alert::RuleId;

/// Labels of the alert counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabel {
    /// Rule id.
    pub rule: String,
}

/// The monitor's metrics.
pub struct Metrics {
    registry: Registry,
    /// Entries verified and judged.
    pub entries: Counter,
    /// Entries processed (verified prefix of the log).
    pub verified_size: Gauge,
    /// Size of the log's latest verified checkpoint.
    pub log_size: Gauge,
    /// Alerts raised, by rule.
    pub alerts: Family<RuleLabel, Counter>,
    /// Alert deliveries that failed (retried later).
    pub delivery_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("gatelog_monitor");
        let entries = Counter::default();
        let verified_size = Gauge::default();
        let log_size = Gauge::default();
        let alerts = Family::<RuleLabel, Counter>::default();
        let delivery_failures = Counter::default();
        registry.register(
            "entries_processed",
            "Entries verified against the tree and run through the rules",
            entries.clone(),
        );
        registry.register(
            "tree_size_verified",
            "Entries of the log verified and processed",
            verified_size.clone(),
        );
        registry.register(
            "log_tree_size",
            "Size of the log's latest checkpoint seen (lag = this - tree_size_verified)",
            log_size.clone(),
        );
        registry.register("alerts", "Alerts raised, by rule", alerts.clone());
        registry.register(
            "delivery_failures",
            "Alert deliveries that failed and will be retried",
            delivery_failures.clone(),
        );
        Metrics {
            registry,
            entries,
            verified_size,
            log_size,
            alerts,
            delivery_failures,
        }
    }
}

impl Metrics {
    /// Counts an alert of `rule`.
    pub fn alert(&self, rule: RuleId) {
        self.alerts
            .get_or_create(&RuleLabel {
                rule: rule.as_str().to_owned(),
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
