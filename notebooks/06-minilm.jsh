// 06-minilm: a real pretrained encoder, all-MiniLM-L6-v2, read from its ONNX file and run in the autograd
// engine; sentence embeddings and their cosine-similarity matrix.
// Run it with `./vectorgrad notebook 06-minilm`, or step through it in `./vectorgrad jshell`.
import dev.vectorgrad.encoder.*;
import java.util.*;

void check(boolean ok, String what) { if (!ok) throw new AssertionError(what); System.out.println("ok: " + what); }

// --- Load: 22.7M float32 weights from the .onnx resource, mapped onto Hugging Face's BERT names -------------
System.out.println("Why: the weights come from the ONNX file langchain4j ships; no ONNX runtime runs, the graph is");
System.out.println("only followed to learn which anonymous MatMul weight belongs to which layer.");
MiniLm enc = MiniLm.load();
var params = enc.bert().namedParameters();
System.out.printf("%d parameter tensors, %,d values; e.g.%n", params.size(), enc.bert().numParameters(false));
for (String k : List.of("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight", "encoder.layer.5.output.LayerNorm.bias"))
    System.out.printf("  %-45s %s%n", k, Arrays.toString(params.get(k).shape()));
check(enc.bert().numParameters(false) == 22_565_376L, "22,565,376 parameters (the ONNX file's 22,565,888 values less the 512 position ids)");

// --- Tokenize: BERT's WordPiece, [CLS] ... [SEP] --------------------------------------------------------
System.out.println("Why: words the vocabulary lacks are split into pieces; '##' marks a continuation.");
String s = "Fine-tuning adapts a pretrained model.";
int[] ids = enc.tokenize(s);
System.out.println(s + " -> " + Arrays.toString(ids));
check(ids[0] == 101 && ids[ids.length - 1] == 102, "ids start with [CLS] (101) and end with [SEP] (102)");

// --- Embed and compare: cosine similarity of unit vectors is their dot product -------------------------
System.out.println("Why: sentences that mean the same thing should land close together, whatever their words.");
List<String> texts = List.of(
        "A cat sits on the mat.",
        "A kitten is resting on a rug.",
        "The stock market fell sharply on Monday.",
        "Share prices dropped at the start of the week.",
        "Where is the nearest train station?");
float[][] e = enc.embed(texts);
double[][] cos = new double[texts.size()][texts.size()];
for (int i = 0; i < texts.size(); i++)
    for (int j = 0; j < texts.size(); j++) {
        double d = 0;
        for (int k = 0; k < e[i].length; k++) d += e[i][k] * e[j][k];
        cos[i][j] = d;
    }
System.out.print("      ");
for (int j = 0; j < texts.size(); j++) System.out.printf("  [%d] ", j);
System.out.println();
for (int i = 0; i < texts.size(); i++) {
    System.out.printf("[%d]   ", i);
    for (int j = 0; j < texts.size(); j++) System.out.printf("%6.3f ", cos[i][j]);
    System.out.println("  " + texts.get(i));
}
check(Math.abs(cos[0][0] - 1) < 1e-5, "embeddings have unit length");
check(cos[0][1] > cos[0][2] + 0.3 && cos[2][3] > cos[2][4] + 0.3, "paraphrases are far closer than unrelated sentences");
