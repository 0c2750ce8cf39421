import Testing
@testable import AtmoRelay
