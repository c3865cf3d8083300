import Foundation

/// The base URL of an Intake server given on the command line (`intake load --url`,
/// `intake pay --url`).
public enum BaseURL {
    /// Whether `text` is an `http://` or `https://` URL with a host.
    public static func isHTTP(_ text: String) -> Bool {
        guard let url = URL(string: text), let host = url.host, !host.isEmpty else { return false }
        return url.scheme == "http" || url.scheme == "https"
    }
}
