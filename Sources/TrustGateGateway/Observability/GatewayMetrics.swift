import CoreMetrics
import Foundation
import NIOConcurrencyHelpers
import Prometheus
import TrustGatePKI

/// The gateway's metrics, through swift-metrics into a Prometheus registry the admin listener serves:
///
/// - `trustgate_requests_total{pool, status}`: answered requests (`pool` is `-` when none was chosen);
/// - `trustgate_request_duration_seconds{pool}`: from the request head to the end of the response (histogram);
/// - `trustgate_upstream_handshakes_total{pool, category}`: upstream TLS handshakes by verdict (`ok` or the
///   reason category);
/// - `trustgate_backend_certificate_not_after_seconds{pool, member, sha256}`: the notAfter (Unix time) of each
///   backend leaf certificate presented;
/// - `trustgate_open_connections`: open client connections;
/// - `trustgate_listener_accepts_paused_total{listener}`, `trustgate_listener_connections_refused_total{listener}`:
///   a listener at its `max-connections`;
/// - `trustgate_allowlist_stale`: 1 while the store cannot be read and the last allow-list read is enforced;
/// - `trustgate_store_up`: 1 while the store answers, 0 while it cannot be read (its complement, for alerts
///   written against PostgreSQL exporters' `pg_up`);
/// - `trustgate_allowlist_version`: the store's version of the allow-list in force.
///
/// Each labelled metric is made once and kept: the hot path takes one lock and an atomic add.
final class GatewayMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let requests = NIOLockedValueBox<[Labels: CoreMetrics.Counter]>([:])
    private let durations = NIOLockedValueBox<[Labels: CoreMetrics.Timer]>([:])
    private let handshakes = NIOLockedValueBox<[Labels: CoreMetrics.Counter]>([:])
    private let certificates = NIOLockedValueBox<[Labels: CoreMetrics.Gauge]>([:])
    private let healthGauges = NIOLockedValueBox<[Labels: CoreMetrics.Gauge]>([:])
    private let paused = NIOLockedValueBox<[Labels: CoreMetrics.Counter]>([:])
    private let refused = NIOLockedValueBox<[Labels: CoreMetrics.Counter]>([:])
    private let openConnections: CoreMetrics.Gauge
    private let allowListStale: CoreMetrics.Gauge
    private let storeUp: CoreMetrics.Gauge
    private let allowListVersion: CoreMetrics.Gauge

    /// The label values of one metric of a family (a status code is kept as a number: no String per request).
    private struct Labels: Hashable {
        var pool: String
        var number = 0
        var text = ""
        var more = ""
    }

    /// The metric of `family` for `labels`, made on first use.
    private static func metric<Metric>(
        _ family: NIOLockedValueBox<[Labels: Metric]>, _ labels: Labels, make: () -> Metric
    ) -> Metric {
        family.withLockedValue { metrics in
            if let metric = metrics[labels] { return metric }
            let metric = make()
            metrics[labels] = metric
            return metric
        }
    }

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        ]
        self.factory = factory
        openConnections = Gauge(label: "trustgate_open_connections", factory: factory)
        allowListStale = Gauge(label: "trustgate_allowlist_stale", factory: factory)
        allowListStale.record(0)
        storeUp = Gauge(label: "trustgate_store_up", factory: factory)
        storeUp.record(1)
        allowListVersion = Gauge(label: "trustgate_allowlist_version", factory: factory)
    }

    func requestAnswered(pool: String, status: Int, nanoseconds: Int64) {
        Self.metric(requests, Labels(pool: pool, number: status)) {
            CoreMetrics.Counter(label: "trustgate_requests_total", dimensions: [("pool", pool), ("status", String(status))],
                                factory: factory)
        }.increment()
        Self.metric(durations, Labels(pool: pool)) {
            CoreMetrics.Timer(label: "trustgate_request_duration_seconds", dimensions: [("pool", pool)], factory: factory)
        }.recordNanoseconds(nanoseconds)
    }

    func handshake(pool: String, category: GatewayOutcome) {
        Self.metric(handshakes, Labels(pool: pool, text: category.rawValue)) {
            CoreMetrics.Counter(label: "trustgate_upstream_handshakes_total",
                                dimensions: [("pool", pool), ("category", category.rawValue)], factory: factory)
        }.increment()
    }

    func backendCertificate(pool: String, member: String, leaf: ParsedCertificate) {
        let sha256 = leaf.sha256.hexString
        Self.metric(certificates, Labels(pool: pool, text: member, more: sha256)) {
            CoreMetrics.Gauge(label: "trustgate_backend_certificate_not_after_seconds",
                              dimensions: [("pool", pool), ("member", member), ("sha256", sha256)], factory: factory)
        }.record(leaf.notAfter.timeIntervalSince1970)
    }

    /// `trustgate_backend_healthy{pool, member}`: 1 while active probes find the member healthy, else 0.
    func backendHealthy(pool: String, member: String, healthy: Bool) {
        Self.metric(healthGauges, Labels(pool: pool, text: member)) {
            CoreMetrics.Gauge(label: "trustgate_backend_healthy", dimensions: [("pool", pool), ("member", member)],
                              factory: factory)
        }.record(healthy ? 1 : 0)
    }

    /// `trustgate_listener_accepts_paused_total{listener}`: times a listener reached `max-connections` and stopped
    /// accepting.
    func acceptsPaused(listener: String) {
        Self.metric(paused, Labels(pool: listener)) {
            CoreMetrics.Counter(label: "trustgate_listener_accepts_paused_total", dimensions: [("listener", listener)],
                                factory: factory)
        }.increment()
    }

    /// `trustgate_listener_connections_refused_total{listener}`: connections closed at once: more than
    /// `AcceptLimiter.maximumHeld` past `max-connections` in one batch of accepts.
    func connectionRefused(listener: String) {
        Self.metric(refused, Labels(pool: listener)) {
            CoreMetrics.Counter(label: "trustgate_listener_connections_refused_total", dimensions: [("listener", listener)],
                                factory: factory)
        }.increment()
    }

    /// `trustgate_allowlist_stale`: 1 while the store cannot be read and the last allow-list read is enforced.
    func allowListStale(_ stale: Bool) {
        allowListStale.record(stale ? 1 : 0)
        storeUp.record(stale ? 0 : 1)
    }

    /// `trustgate_allowlist_version`.
    func allowListVersion(_ version: Int64) {
        allowListVersion.record(Double(version))
    }

    func openConnections(_ count: Int) {
        openConnections.record(Double(count))
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
