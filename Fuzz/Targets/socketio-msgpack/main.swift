// Hands the target to libFuzzer (see Fuzz/Support/FuzzSupport.swift).
import FuzzSupport

runFuzzer { data, size in fuzzSocketIOMessagePack(data, size) }
