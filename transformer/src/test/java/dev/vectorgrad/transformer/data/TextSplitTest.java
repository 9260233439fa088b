package dev.vectorgrad.transformer.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TextSplitTest {
    @Test
    void ninetyTenByCharacters() {
        // n = 10: int(10 * 0.9) = 9 characters for training, as nanoGPT's data[:int(n*0.9)].
        TextSplit s = TextSplit.of("0123456789");
        assertThat(s.train()).isEqualTo("012345678");
        assertThat(s.val()).isEqualTo("9");
        // n = 25: int(22.5) = 22.
        String t = "abcdefghijklmnopqrstuvwxy";
        assertThat(TextSplit.of(t).train()).hasSize(22);
        assertThat(TextSplit.of(t).val()).isEqualTo("wxy");
    }

    @Test
    void countsCodePointsNotUtf16Units() {
        // 11 code points, two of them outside the BMP (2 chars each): int(11 * 0.9) = 9 code points for training.
        String text = "ab\uD83D\uDE00cdefg\uD83C\uDF89hi";
        assertThat(text.codePointCount(0, text.length())).isEqualTo(11);
        TextSplit s = TextSplit.of(text);
        assertThat(s.train()).isEqualTo("ab\uD83D\uDE00cdefg\uD83C\uDF89");
        assertThat(s.val()).isEqualTo("hi");
    }

    @Test
    void readsUtf8FilesStrictly(@TempDir Path dir) throws Exception {
        Path ok = dir.resolve("ok.txt");
        Files.write(ok, new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 'h', (byte) 0xC3, (byte) 0xA9, 'l', 'l', 'o', '!', '!', '!', '!', '\n'});
        TextSplit s = TextSplit.read(ok);
        assertThat(s.train() + s.val()).isEqualTo("héllo!!!!\n"); // BOM dropped, é decoded
        assertThat(s.train()).isEqualTo("héllo!!!!");
        Path bad = dir.resolve("bad.txt");
        Files.write(bad, new byte[] {'a', (byte) 0xC3, 'b'});
        assertThatThrownBy(() -> TextSplit.read(bad)).hasMessageContaining("bad.txt").hasMessageContaining("UTF-8");
    }

    @Test
    void fractionIsChecked() {
        assertThat(TextSplit.of("abcd", 0.5)).isEqualTo(new TextSplit("ab", "cd"));
        assertThatThrownBy(() -> TextSplit.of("abcd", 1.5)).isInstanceOf(IllegalArgumentException.class);
    }
}
