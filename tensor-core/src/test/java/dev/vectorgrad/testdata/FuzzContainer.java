package dev.vectorgrad.testdata;

import dev.vectorgrad.testdata.Fuzz.JsonEdit;
import dev.vectorgrad.testdata.Fuzz.Mutation;
import java.util.List;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AddLifecycleHook;

/**
 * The base of a loader fuzz test class (issue 12 §5), for what each one needs alike: {@link Fuzz.Settings} on its
 * properties (tries and seed) and, after its last property, the deletion of the temporary folder it made with
 * {@link Fuzz#tempDir(Class, String)}; the providers {@code @ForAll("tree")} (JSON tree edits) and
 * {@code @ForAll("bytes")} (byte mutations).
 */
@AddLifecycleHook(Fuzz.Settings.class)
public abstract class FuzzContainer {
    @Provide
    protected Arbitrary<List<JsonEdit>> tree() {
        return Fuzz.jsonEdits();
    }

    @Provide
    protected Arbitrary<List<Mutation>> bytes() {
        return Fuzz.mutations();
    }
}
