"""What the tests run against: a local Hub (olah behind a front), the Hub's write API, loopback servers,
synthetic archives, and the programs the tests start in other processes and virtual environments."""
