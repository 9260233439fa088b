package dev.vectorgrad.transformer.cli;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A tiny {@code --name value} / {@code --flag} parser with clear errors (the commands' shared helper, also peft's). */
public final class Args {
    private final String command;
    private final Map<String, String> values = new HashMap<>();
    private final Map<String, List<String>> all = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    /** Thrown for a usage error; the message is meant for the user. */
    public static final class UsageException extends RuntimeException {
        public UsageException(String msg) {
            super(msg);
        }
    }

    private Args(String command) {
        this.command = command;
    }

    /** Parses {@code args}: {@code valued} options take the next argument, {@code flagNames} take none. */
    public static Args parse(String command, String[] args, List<String> valued, List<String> flagNames) {
        Args a = new Args(command);
        for (int i = 0; i < args.length; i++) {
            String s = args[i];
            String name = s, inline = null;
            int eq = s.indexOf('=');
            if (s.startsWith("--") && eq > 0) {
                name = s.substring(0, eq);
                inline = s.substring(eq + 1);
            }
            if (valued.contains(name)) {
                String v = inline;
                if (v == null) {
                    if (i + 1 >= args.length) throw new UsageException(command + ": " + name + " needs a value");
                    v = args[++i];
                }
                a.values.put(name, v);
                a.all.computeIfAbsent(name, k -> new java.util.ArrayList<>()).add(v);
            } else if (flagNames.contains(name) && inline == null) {
                a.flags.add(name);
            } else {
                throw new UsageException(command + ": unknown argument '" + s + "'");
            }
        }
        return a;
    }

    public String get(String name) {
        return values.get(name);
    }

    /** Every value given for a repeatable option, in order (empty when absent). */
    public List<String> all(String name) {
        return List.copyOf(all.getOrDefault(name, List.of()));
    }

    public String require(String name) {
        String v = values.get(name);
        if (v == null) throw new UsageException(command + ": " + name + " is required");
        return v;
    }

    public boolean has(String name) {
        return flags.contains(name) || values.containsKey(name);
    }

    public int intValue(String name, int dflt) {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": " + name + " must be an integer, got '" + v + "'");
        }
    }

    public long longValue(String name, long dflt) {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": " + name + " must be an integer, got '" + v + "'");
        }
    }

    public double doubleValue(String name, double dflt) {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(command + ": " + name + " must be a number, got '" + v + "'");
        }
    }
}
