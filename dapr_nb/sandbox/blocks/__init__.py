"""Building-block semantics shared by the gRPC and HTTP surfaces: lookup, validation, daprd's errors."""
