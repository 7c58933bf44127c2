// Package safetensors reads and writes a generated model's parameters as
// safetensors files, the format PyTorch users exchange state_dicts in:
// Load and Read set the parameters from a file or bytes, Save and Write
// store them. The reader checks everything in the file before it trusts
// it, so a hostile file gets an error, never a panic or a large
// allocation.
package safetensors
