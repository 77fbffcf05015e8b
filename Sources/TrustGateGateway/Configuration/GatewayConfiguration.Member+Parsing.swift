import Foundation

extension GatewayConfiguration.Member {
    /// `host:port`, `host`, `[v6]:port`, or a bare IPv6 address.
    public init?(parsing text: String) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard !host.isEmpty else { return nil }
            if rest.isEmpty {
                self.init(host: host, port: nil)
                return
            }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else { return nil }
            self.init(host: host, port: port)
            return
        }
        let colons = text.filter { $0 == ":" }.count
        if colons == 1, let colon = text.firstIndex(of: ":") {
            guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            let host = String(text[..<colon])
            guard !host.isEmpty else { return nil }
            self.init(host: host, port: port)
            return
        }
        guard !text.isEmpty, !text.contains(" ") else { return nil }
        self.init(host: text, port: nil)
    }
}
