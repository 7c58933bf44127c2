package main

import (
	"math/rand/v2"
	"strings"
)

// topics are the classes, each with its own words; sentences mix them with
// words every topic shares, and now and then a word of another topic, so
// that no single word decides.
var topics = []struct {
	name                    string
	subjects, verbs, things []string
}{
	{"sports",
		[]string{"the striker", "our goalkeeper", "the coach", "a young runner", "the home team", "the captain", "the referee", "a tired swimmer"},
		[]string{"scored", "trained for", "won", "lost", "celebrated", "missed", "defended", "practised"},
		[]string{"the final match", "a late goal", "the league title", "a penalty kick", "the relay race", "the season opener", "a tough tournament", "the championship"}},
	{"food",
		[]string{"the chef", "my grandmother", "a street vendor", "the baker", "our cook", "the waiter", "a hungry student", "the restaurant"},
		[]string{"baked", "cooked", "tasted", "served", "seasoned", "grilled", "ordered", "fried"},
		[]string{"fresh bread", "a spicy curry", "the tomato soup", "garlic noodles", "a chocolate cake", "the roast chicken", "sweet pancakes", "a bowl of rice"}},
	{"weather",
		[]string{"the forecast", "a cold front", "the storm", "heavy clouds", "the wind", "a warm breeze", "the morning fog", "the heatwave"},
		[]string{"brought", "promised", "covered", "pushed", "followed", "ended", "warned of", "cleared"},
		[]string{"heavy rain", "strong gusts", "freezing snow", "a sunny afternoon", "thunder and lightning", "the humid air", "a dry spell", "icy roads"}},
	{"tech",
		[]string{"the engineer", "a small startup", "the new phone", "our server", "the developer", "a robot", "the laptop", "the software team"},
		[]string{"released", "crashed during", "updated", "installed", "debugged", "compiled", "shipped", "tested"},
		[]string{"the mobile app", "a security patch", "the database", "a faster chip", "the cloud service", "new firmware", "the source code", "a network router"}},
}

var (
	openers = []string{"", "", "yesterday", "today", "last week", "this morning", "once again", "finally"}
	endings = []string{"", "", "again", "in the city", "after lunch", "as expected", "near the park", "for everyone"}
)

type sentence struct {
	text  string
	label int
}

// makeCorpus draws n sentences from the templates with a fixed seed: the
// same corpus on every run and machine.
func makeCorpus(n int, seed uint64) []sentence {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	pick := func(words []string) string { return words[r.IntN(len(words))] }
	out := make([]sentence, n)
	for i := range out {
		label := r.IntN(len(topics))
		t := topics[label]
		thing := pick(t.things)
		if r.IntN(5) == 0 { // a word of another topic: sentences overlap
			thing = pick(topics[r.IntN(len(topics))].things)
		}
		words := []string{pick(openers), pick(t.subjects), pick(t.verbs), thing, pick(endings)}
		out[i] = sentence{strings.Join(strings.Fields(strings.Join(words, " ")), " "), label}
	}
	return out
}
