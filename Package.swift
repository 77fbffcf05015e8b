// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "trustgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trustgate", targets: ["trustgate"]),
        .library(name: "TrustGatePKI", targets: ["TrustGatePKI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // The system OpenSSL 3, for PKCS#12 profiles BoringSSL does not write or read (RC2-40, 3DES).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // PKI: keys, creation, codecs, inspection, pins, chains.
        .target(
            name: "TrustGatePKI",
            dependencies: [
                "COpenSSL",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        // AllowList: the per-gateway allow-list model, its policy on the trust evaluator, and its stores.
        .target(
            name: "TrustGateAllowList",
            dependencies: [
                "TrustGatePKI", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "X509", package: "swift-certificates"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Gateway: configuration, listeners, routing, upstream TLS enforcement, proxy.
        .target(
            name: "TrustGateGateway",
            dependencies: [
                "COpenSSL", "TrustGatePKI", "TrustGateAllowList", .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // CLI: argument parsing, output formatting, exit codes; no business logic.
        .target(
            name: "TrustGateCLI",
            dependencies: [
                "TrustGatePKI",
                "TrustGateAllowList",
                "TrustGateGateway",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "trustgate", dependencies: ["TrustGateCLI"],
            // Start-up: swiftc links executables with -export-dynamic, and the Swift backtracer's dladdr at start
            // scanned all 44,933 exported symbols; nothing needs them exported.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"],
                                          .when(platforms: [.linux], configuration: .release))]
        ),
        // Fuzz targets: every parser outside input reaches (see scripts/fuzz.sh and Tests/FuzzRegressions).
        .target(
            name: "TrustGateFuzzing",
            dependencies: ["TrustGatePKI", "TrustGateAllowList", "TrustGateGateway"]
        ),
        // libFuzzer's driver when built by scripts/fuzz.sh; otherwise `trustgate-fuzz TARGET FILE...` replays files.
        .target(name: "CLibFuzzer"),
        .executableTarget(name: "trustgate-fuzz", dependencies: ["TrustGateFuzzing", "CLibFuzzer"]),
        // In-process benchmarks (not tests): `swift run -c release trustgate-bench`.
        .executableTarget(
            name: "trustgate-bench",
            dependencies: [
                "TrustGatePKI", "TrustGateAllowList", "TrustGateTesting", "COpenSSL",
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Benchmarks/TrustGateBench"
        ),
        // Test-only helpers: temporary directories, openssl/certtool runners, a test PKI in code.
        .target(
            name: "TrustGateTesting",
            dependencies: [
                "TrustGatePKI", "TrustGateGateway", .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TrustGatePKITests",
            dependencies: [
                "TrustGatePKI", "TrustGateTesting", .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .testTarget(
            name: "TrustGateAllowListTests",
            dependencies: ["TrustGateAllowList", "TrustGatePKI", "TrustGateTesting"]
        ),
        .testTarget(
            name: "TrustGateGatewayTests",
            dependencies: [
                "TrustGateGateway", "TrustGatePKI", "TrustGateTesting", "TrustGateFuzzing", "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TrustGateCLITests",
            dependencies: ["trustgate", "TrustGatePKI", "TrustGateAllowList", "TrustGateGateway", "TrustGateTesting"]
        ),
    ]
)
