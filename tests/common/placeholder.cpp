// Keeps the test helper library non-empty.
namespace attnscope_test { int placeholder() { return 0; } }
