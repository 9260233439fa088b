package dev.vectorgrad.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tuning file and the plan choice; the tuning itself never runs in tests (-Dvectorgrad.gemm.tune=false). */
class GemmTuningTest {
    @TempDir
    Path dir;

    @Test
    void testsRunTheBuiltInPlan() {
        assertThat(System.getProperty("vectorgrad.gemm.tune")).isEqualTo("false");
        if (System.getenv("VECTORGRAD_GEMM") == null) assertThat(Gemm.plan()).isEqualTo(Gemm.builtinPlan());
        assertThat(GemmTuning.describe()).contains(Gemm.plan().toString());
    }

    @Test
    void theFileRoundTripsAndIsWrittenWhole() throws IOException {
        Path f = dir.resolve("sub").resolve("gemm-x.txt");
        Gemm.Plan p = new Gemm.Plan(Gemm.Kernel.K6x2, 128, 96, 2 * Gemm.L * 7);
        GemmTuning.write(f, new GemmTuning.Result(p, "kernel 6x2 1.0 GFLOP/s\n"));
        assertThat(GemmTuning.read(f)).isEqualTo(p);
        assertThat(Files.readString(f)).contains("plan=" + p).contains("# kernel 6x2");
        try (var files = Files.list(f.getParent())) {
            assertThat(files.map(x -> x.getFileName().toString()).toList()).containsExactly("gemm-x.txt");
        }
        Files.writeString(f, "plan=9x9,1,1,1\n");
        assertThatThrownBy(() -> GemmTuning.read(f)).hasMessageContaining("9x9").hasMessageContaining(f.toString());
    }

    @Test
    void candidatesFitTheRegisterFileAndTheFileNamesTheMachine() {
        assertThat(GemmTuning.candidates()).isNotEmpty().allSatisfy(k -> assertThat(k.registers()).isLessThanOrEqualTo(GemmTuning.registers()));
        assertThat(GemmTuning.candidates()).contains(Gemm.builtinPlan().kernel());
        assertThat(GemmTuning.file().getFileName().toString())
                .startsWith("gemm-").endsWith(".txt").contains(Gemm.S.vectorBitSize() + "bit-jdk" + Runtime.version().feature());
    }

    /**
     * A malformed VECTORGRAD_GEMM fails every GEMM with the same one-line IllegalArgumentException naming the
     * variable, not an ExceptionInInitializerError followed by NoClassDefFoundError. In a child JVM, because the
     * variable is read once per process and tests cannot set it in their own.
     */
    @Test
    void aMalformedOverrideFailsEveryGemmWithTheSameClearError() throws Exception {
        for (String bad : List.of("4x3,abc,144,432", "9x9,256,144,432", "3x3,256", "3x3,0,144,432")) {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            for (String opt : ManagementFactory.getRuntimeMXBean().getInputArguments())
                if (!opt.startsWith("-agentlib") && !opt.startsWith("-javaagent")) cmd.add(opt);
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), TwoGemms.class.getName()));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("VECTORGRAD_GEMM", bad);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            List<String> lines = out.lines().filter(l -> l.startsWith("gemm ")).toList();
            assertThat(lines).as(out).hasSize(2);
            for (String l : lines)
                assertThat(l).as(out).startsWith("gemm java.lang.IllegalArgumentException: VECTORGRAD_GEMM='" + bad + "'")
                        .doesNotContain("\\n");
            assertThat(lines.get(1)).isEqualTo(lines.get(0));
        }
    }

    /** Child of the test above: two GEMMs, each failure printed as "gemm CLASS: MESSAGE" on one line. */
    static final class TwoGemms {
        public static void main(String[] args) {
            for (int i = 0; i < 2; i++) {
                try {
                    Gemm.sgemm(false, false, 2, 2, 2, 1f, new float[4], 0, 2, new float[4], 0, 2, 0f, new float[4], 0, 2);
                    System.out.println("gemm ok");
                } catch (Throwable t) {
                    System.out.println("gemm " + t.toString().replace("\n", "\\n"));
                }
            }
        }
    }
}
