// AudioWorklet processor of asr-serve's page: turns the microphone's float
// samples (mono, the AudioContext's rate) into int16 PCM and posts one
// block of about 100 ms at a time to the page, which sends it over the
// WebSocket. Runs on the audio rendering thread: no allocation per call
// except the block handed over (its buffer is transferred, not copied).
class PcmSender extends AudioWorkletProcessor {
  constructor() {
    super();
    this.size = Math.round(sampleRate / 10);   // samples per block: 100 ms
    this.block = new Int16Array(this.size);
    this.fill = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;                  // no input connected yet
    for (let i = 0; i < channel.length; i++) {
      // Float to int16 with asr.audio's scale (x 32768), clipped to int16.
      const v = Math.round(channel[i] * 32768);
      this.block[this.fill++] = Math.max(-32768, Math.min(32767, v));
      if (this.fill === this.size) {
        this.port.postMessage(this.block.buffer, [this.block.buffer]);
        this.block = new Int16Array(this.size);
        this.fill = 0;
      }
    }
    return true;
  }
}

registerProcessor("pcm-sender", PcmSender);
