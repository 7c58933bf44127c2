package codegen

// ArgName is argName, for the tests of package codegen_test.
var ArgName = argName
