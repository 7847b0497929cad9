/**
 * Local devices and tracks: which cameras and microphones exist, which are
 * chosen (remembered), and the live tracks the preview and the call share.
 */
import { computed, onScopeDispose, ref, shallowRef } from 'vue';
import { cameraConstraints, microphoneConstraints, screenCaptureConstraints } from '../lib/encodings.js';
import { mediaAccessError, screenShareError, userError } from '../lib/errors.js';
import type { UserError } from '../lib/errors.js';

export type DeviceOption = { deviceId: string; label: string };

export function useMedia(initial: { cameraDeviceId: string; microphoneDeviceId: string }) {
	const cameras = ref<DeviceOption[]>([]);
	const microphones = ref<DeviceOption[]>([]);
	const cameraDeviceId = ref(initial.cameraDeviceId);
	const microphoneDeviceId = ref(initial.microphoneDeviceId);
	const cameraTrack = shallowRef<MediaStreamTrack>();
	const microphoneTrack = shallowRef<MediaStreamTrack>();
	const error = ref<UserError>();

	const mediaDevices = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;

	async function refreshDevices(): Promise<void> {
		if (!mediaDevices?.enumerateDevices) return;
		try {
			const devices = await mediaDevices.enumerateDevices();
			const options = (kind: MediaDeviceKind, fallback: string) =>
				devices
					.filter((d) => d.kind === kind && d.deviceId !== '')
					.map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${fallback} ${i + 1}` }));
			cameras.value = options('videoinput', 'Camera');
			microphones.value = options('audioinput', 'Microphone');
		} catch (cause) {
			error.value = mediaAccessError(cause);
		}
	}

	async function open(kind: 'audio' | 'video', deviceId: string): Promise<MediaStreamTrack | undefined> {
		if (!mediaDevices?.getUserMedia) {
			error.value = userError(window.isSecureContext ? 'unsupported-browser' : 'insecure-context');
			return undefined;
		}
		const constraints = kind === 'video' ? { video: cameraConstraints(deviceId || undefined) } : { audio: microphoneConstraints(deviceId || undefined) };
		try {
			const stream = await mediaDevices.getUserMedia(constraints);
			const track = kind === 'video' ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
			if (!track) throw new DOMException('no track', 'NotFoundError');
			error.value = undefined;
			// Labels are only readable once access was granted.
			void refreshDevices();
			return track;
		} catch (cause) {
			// A remembered device that is gone: fall back to the default one.
			if (deviceId && (cause as { name?: string }).name === 'OverconstrainedError') return open(kind, '');
			error.value = mediaAccessError(cause);
			return undefined;
		}
	}

	async function startCamera(): Promise<MediaStreamTrack | undefined> {
		if (cameraTrack.value?.readyState === 'live') return cameraTrack.value;
		const track = await open('video', cameraDeviceId.value);
		if (track) cameraDeviceId.value = track.getSettings().deviceId ?? cameraDeviceId.value;
		cameraTrack.value = track;
		return track;
	}

	async function startMicrophone(): Promise<MediaStreamTrack | undefined> {
		if (microphoneTrack.value?.readyState === 'live') return microphoneTrack.value;
		const track = await open('audio', microphoneDeviceId.value);
		if (track) microphoneDeviceId.value = track.getSettings().deviceId ?? microphoneDeviceId.value;
		microphoneTrack.value = track;
		return track;
	}

	function stopCamera(): void {
		cameraTrack.value?.stop();
		cameraTrack.value = undefined;
	}

	function stopMicrophone(): void {
		microphoneTrack.value?.stop();
		microphoneTrack.value = undefined;
	}

	/**
	 * Switches to another device in two steps, so that the old track keeps
	 * flowing until the new one is sent: open the new one here (a failure
	 * leaves the old one working), then `commit` once it replaced the old one
	 * wherever it was used; `commit` stops the old track.
	 */
	async function switchDevice(
		kind: 'audio' | 'video',
		deviceId: string,
	): Promise<{ track: MediaStreamTrack; commit: () => void } | undefined> {
		const current = kind === 'video' ? cameraTrack : microphoneTrack;
		const selected = kind === 'video' ? cameraDeviceId : microphoneDeviceId;
		if (!current.value) {
			// Nothing open: remember the choice for when it is opened.
			selected.value = deviceId;
			return undefined;
		}
		const track = await open(kind, deviceId);
		if (!track) return undefined;
		track.enabled = current.value.enabled;
		const previous = current.value;
		return {
			track,
			commit: () => {
				current.value = track;
				selected.value = track.getSettings().deviceId ?? deviceId;
				previous.stop();
			},
		};
	}

	/** getDisplayMedia: video, and the tab's or system's audio when the browser offers it. null when the user cancelled. */
	async function captureScreen(): Promise<MediaStream | null> {
		if (!mediaDevices?.getDisplayMedia) {
			error.value = userError('screen-share-failed', 'This browser cannot share the screen.');
			return null;
		}
		try {
			return await mediaDevices.getDisplayMedia(screenCaptureConstraints);
		} catch (cause) {
			const shown = screenShareError(cause);
			if (shown) error.value = shown;
			return null;
		}
	}

	mediaDevices?.addEventListener?.('devicechange', refreshDevices);
	onScopeDispose(() => {
		mediaDevices?.removeEventListener?.('devicechange', refreshDevices);
		stopCamera();
		stopMicrophone();
	});

	return {
		cameras,
		microphones,
		cameraDeviceId,
		microphoneDeviceId,
		cameraTrack,
		microphoneTrack,
		error,
		hasCamera: computed(() => cameraTrack.value?.readyState === 'live'),
		hasMicrophone: computed(() => microphoneTrack.value?.readyState === 'live'),
		refreshDevices,
		startCamera,
		startMicrophone,
		stopCamera,
		stopMicrophone,
		switchDevice,
		captureScreen,
	};
}

export type Media = ReturnType<typeof useMedia>;
