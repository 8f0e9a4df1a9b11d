import * as tf from '@tensorflow/tfjs';
import { ChorusError, tensorSize } from '@chorus/core';
import type { Dataset } from '@chorus/core';

/** Keeps log() finite when a probability underflows to 0; the value Keras uses. */
const EPSILON = 1e-7;

/** Mean categorical cross-entropy of class probabilities (the templates end in softmax). */
export function crossEntropy(labelsOneHot: tf.Tensor, probs: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const clipped = tf.clipByValue(probs, EPSILON, 1 - EPSILON);
    return tf.neg(tf.mean(tf.sum(tf.mul(labelsOneHot, tf.log(clipped)), -1))) as tf.Scalar;
  });
}

/** Number of examples whose most probable class is the label. */
export function countCorrect(labels: tf.Tensor1D, probs: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'int32')) as tf.Scalar);
}

/** The examples `indices[start, end)` of `ds` as an input tensor and int32 labels. */
export function gatherBatch(ds: Dataset, indices: ArrayLike<number>, start: number, end: number): { x: tf.Tensor; y: tf.Tensor1D } {
  const rowLen = tensorSize(ds.inputShape);
  const n = end - start;
  const xs = new Float32Array(n * rowLen);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const idx = indices[start + i]!;
    xs.set(ds.x.subarray(idx * rowLen, (idx + 1) * rowLen), i * rowLen);
    ys[i] = ds.y[idx]!;
  }
  return { x: tf.tensor(xs, [n, ...ds.inputShape], 'float32'), y: tf.tensor1d(ys, 'int32') };
}

/** Throws SHAPE_MISMATCH when the dataset's examples or classes do not fit the model. */
export function assertDatasetFitsModel(model: tf.LayersModel, ds: Dataset, what: string): void {
  const inShape = model.inputs[0]!.shape.slice(1);
  if (inShape.length > 0 && tensorSize(inShape as number[]) !== tensorSize(ds.inputShape)) {
    throw new ChorusError('SHAPE_MISMATCH', `${what}: examples have shape [${ds.inputShape.join(', ')}]; the model takes [${inShape.join(', ')}]`);
  }
  const outShape = model.outputs[0]!.shape;
  const classes = outShape[outShape.length - 1];
  if (classes !== ds.numClasses) {
    throw new ChorusError('SHAPE_MISMATCH', `${what}: the dataset has ${ds.numClasses} classes; the model outputs ${classes}`);
  }
  if (ds.x.length !== ds.count * tensorSize(ds.inputShape) || ds.y.length !== ds.count) {
    throw new ChorusError('SHAPE_MISMATCH', `${what}: dataset buffers do not hold ${ds.count} examples of [${ds.inputShape.join(', ')}]`);
  }
}
