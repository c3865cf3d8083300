import Testing

/// Every integration suite of the data side, one test at a time: each runs DuckDB processes
/// (and some run `intake` processes) that would otherwise all compete for the machine's two
/// cores at once, alongside every other suite of the package.
@Suite(.serialized) enum DataIntegrationTests {}
