// A shared library that is not a lake plugin: it exports neither required symbol.
extern "C" int something_else() { return 1; }
