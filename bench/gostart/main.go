// Command gostart does nothing: the benchmark runs it to measure the CPU
// time and memory any Go program takes to start and exit on this
// machine, the floor under every Go process a login starts.
package main

func main() {}
